"""Fixtures of the multi-host tier: three Docker hosts (see lab.py), the base image on
each, and an S3 endpoint on the address every host's namespace reaches.

Not root, or a tool missing: the tier skips with the reason — except in CI (CI=true),
where it must run, so it fails instead.
"""

from __future__ import annotations

import hashlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.host.hosts import lab as labmod
from tests.host.hosts.lab import TAG, Host, Lab, LabUnavailable
from tests.support.budget import budget, step
from tests.support.mise import tier_unavailable
from tests.support.s3 import S3Server, free_port

HOST_COUNT = 3
VIA = {"h1": "socket", "h2": "ssh", "h3": "tls"}  # how the hosts file reaches each host


@pytest.fixture(scope="session")
@budget(180)  # three dockerds on empty data roots, sshd, TLS material
def lab() -> Iterator[Lab]:
    try:
        with step(TAG, f"starting {HOST_COUNT} Docker hosts in network namespaces"):
            started = labmod.start(HOST_COUNT)
    except LabUnavailable as exc:
        tier_unavailable("multihost", str(exc))
        raise AssertionError("unreachable") from None
    try:
        yield started
    finally:
        labmod.stop(started)


def _copy_image(tag: str, source: Host, target: Host) -> None:
    """docker save | docker load: the test's stand-in for pulling from a registry."""
    want = source.docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
    have = target.docker("image", "inspect", "--format", "{{.Id}}", tag, check=False)
    if have.returncode == 0 and have.stdout.strip() == want:
        return
    with step(TAG, f"docker save {tag} on {source.name} | docker load on {target.name}"):
        save = subprocess.Popen(["docker", "save", tag], env=source.env(), stdout=subprocess.PIPE)
        try:
            subprocess.run(
                ["docker", "load", "-q"],
                env=target.env(),
                stdin=save.stdout,
                check=True,
                capture_output=True,
                timeout=900,
            )
        finally:
            if save.stdout:
                save.stdout.close()
            save.wait()


def _inputs_key(rootfs: str) -> str:
    """What the base image is made from: the worker, base-image/, the build code, the rootfs."""
    h = hashlib.sha256(rootfs.encode())
    for folder in ("worker/coltec_worker", "worker/pyproject.toml", "base-image", "schema"):
        root = REPO_ROOT / folder
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" not in path.parts:
                h.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    from coltec.runtime import image  # how cs:image builds: a change rebuilds the image

    h.update(Path(image.__file__).read_bytes())
    return h.hexdigest()[:16]


def _cs_image(host: Host, rootfs: str, via: str) -> None:
    """`mise run cs:image --base-image ROOTFS --offline` against one host, as a user runs it
    (via: "socket", "ssh" or "tls", as the hosts file reaches it)."""
    env = {
        **host.env(via_tls=via == "tls"),
        "MISE_YES": "1",
        "MISE_TRUSTED_CONFIG_PATHS": str(REPO_ROOT),
    }
    env.pop("DOCKER_BUILDKIT", None)
    url = {"socket": host.socket, "ssh": host.ssh_url, "tls": host.tls_url}[via]
    env.pop("DOCKER_HOST", None)
    with step(TAG, f"mise run cs:image --offline on {host.name} ({url})"):
        proc = subprocess.run(
            [
                str(REPO_ROOT / "node_modules" / ".bin" / "mise"),
                "run",
                "cs:image",
                "--base-image",
                rootfs,
                "--offline",
                "--docker-host",
                url,
            ],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"cs:image on {host.name} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")


def _images(hosts: list[Host]) -> str:
    """The base image on every host, built there with `cs:image`, reached as the hosts
    file reaches it (unix socket, ssh://, tcp:// with TLS).

    Its one test-specific input is --base-image: a debootstrap root filesystem (no image
    registry is reachable here), made once on the first host and copied to the others.
    A host whose image was built from the same inputs keeps it (a warm run builds none).
    """
    from tests.support import engine as e2e

    first = hosts[0]
    # our own scratch space, never the e2e tier's
    rootfs = e2e.rootfs_image(
        e2e.DockerEngine(first.socket, owned=False), labmod.CACHE / "e2e", TAG
    )
    key = _inputs_key(rootfs)
    built = f"coltec-multihost/base:{key}"
    tag = (REPO_ROOT / "base-image" / "IMAGE").read_text().strip()
    for host in hosts:
        if host.docker("image", "inspect", built, check=False).returncode == 0:
            host.docker("tag", built, tag)
            continue
        _copy_image(rootfs, first, host)
        _cs_image(host, rootfs, via=VIA[host.name])
        host.docker("tag", tag, built)
        # older builds of ours (each a full copy on vfs), never anything else
        refs = host.docker(
            "images", "--format", "{{.Repository}}:{{.Tag}}", "coltec-multihost/base"
        )
        stale = [r for r in refs.stdout.split() if r != built]
        if stale:
            host.docker("rmi", *stale, check=False)
        host.docker("image", "prune", "-f", check=False)
    return tag


@pytest.fixture(scope="session")
@budget(1800)  # cold: rootfs 52 s, cs:image on h1 93 s, on h2 over ssh 286 s, h3 by TLS
def base_image(lab: Lab) -> str:
    from tests.support.engine import Unavailable

    try:
        return _images(lab.hosts)
    except Unavailable as exc:
        tier_unavailable("multihost", str(exc))
        raise AssertionError("unreachable") from None


@pytest.fixture
def hub_s3(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    root = tmp_path_factory.mktemp("s3root")
    bucket = f"test-{uuid.uuid4().hex[:10]}"
    (root / bucket).mkdir()
    # on the bridge address, which every host's namespace reaches
    server = S3Server(
        root=root,
        bucket=bucket,
        port=free_port(),
        log=Path(f"{root}-serve.log"),
        addr=labmod.HUB_ADDR,
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
