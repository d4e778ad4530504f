"""Fixtures of the multi-host tier: three Docker hosts (see lab.py), the base image on
each, and an S3 endpoint on the address every host's namespace reaches.

Not root, or a tool missing: the tier skips with the reason — except in CI (CI=true),
where it must run, so it fails instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.host.hosts import lab as labmod
from tests.host.hosts.images import BUILT_REPO, cs_image, inputs_key
from tests.host.hosts.lab import TAG, Lab, LabUnavailable
from tests.support.budget import budget, step
from tests.support.mise import tier_unavailable
from tests.support.s3 import S3Server, free_port

HOST_COUNT = 3


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


@pytest.fixture(scope="session")
@budget(300)  # cold: debootstrap 52 s, docker import on h1
def rootfs(lab: Lab) -> str:
    """The one test-specific input of the base image (no image registry is reachable here):
    a debootstrap root filesystem, on h1 only — the host cs:image builds on."""
    from tests.support import engine as e2e

    try:  # our own scratch space, never the e2e tier's
        engine = e2e.DockerEngine(lab.hosts[0].socket, owned=False)
        return e2e.rootfs_image(engine, labmod.CACHE / "e2e", TAG)
    except e2e.Unavailable as exc:
        tier_unavailable("multihost", str(exc))
        raise AssertionError("unreachable") from None


@pytest.fixture(scope="session")
@budget(900)  # cold: the build on h1 93 s, then docker save | load to h2 (ssh) and h3 (TLS)
def base_image(lab: Lab, rootfs: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The base image on every host, the way README says: `cs:image --all-hosts` builds it
    on h1 and sends it to h2 over ssh:// and to h3 over tcp:// with TLS.

    A host whose image was built from the same inputs keeps it (a warm run builds none).
    """
    key = inputs_key(rootfs)
    built = f"{BUILT_REPO}:{key}"
    tag = (REPO_ROOT / "base-image" / "IMAGE").read_text().strip()
    have = [h.docker("image", "inspect", built, check=False).returncode == 0 for h in lab.hosts]
    if not all(have):
        hosts_file = tmp_path_factory.mktemp("image") / "hosts.yaml"
        hosts_file.write_text(labmod.hosts_yaml(lab))
        cs_image(rootfs, hosts_file, "--all-hosts")
    for host in lab.hosts:
        if all(have):
            host.docker("tag", built, tag)
            continue
        host.docker("tag", tag, built)  # what it was built from, for the next run
        # older builds of ours (each a full copy on vfs), never anything else
        refs = host.docker("images", "--format", "{{.Repository}}:{{.Tag}}", BUILT_REPO)
        stale = [r for r in refs.stdout.split() if r != built]
        if stale:
            host.docker("rmi", *stale, check=False)
            host.docker("image", "prune", "-f", check=False)
    return tag


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
