"""Fixtures of the multi-host tier: three Docker hosts (see lab.py), the base image on
each, and an S3 endpoint on the address every host's namespace reaches.

Not root, or a tool missing: the tier skips with the reason — except in CI (CI=true),
where it must run, so it fails instead.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.multihost import lab as labmod
from tests.multihost.lab import Host, Lab, LabUnavailable
from tests.s3 import S3Server, free_port, rclone_binary

HOST_COUNT = 3


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"multi-host tier cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"multihost: {reason}")


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    try:
        started = labmod.start(HOST_COUNT)
    except LabUnavailable as exc:
        _unavailable(str(exc))
        raise AssertionError("unreachable") from None
    try:
        yield started
    finally:
        labmod.stop(started)


def _build_on_first_then_copy(hosts: list[Host]) -> str:
    """The e2e tier's base image (debootstrap rootfs + this checkout's worker), built on
    the first host and copied to the others with docker save | docker load.

    A test-infrastructure shortcut until `cs:image` exists on main; its cache is this
    tier's own (COLTEC_MULTIHOST_CACHE), never the e2e tier's.
    """
    from tests.e2e import engine as e2e

    e2e.CACHE = labmod.CACHE / "e2e"  # our own wheelhouse and rootfs scratch space
    first = hosts[0]
    tag = e2e.base_image(e2e.DockerEngine(first.socket, owned=False))
    want = first.docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
    for host in hosts[1:]:
        have = host.docker("image", "inspect", "--format", "{{.Id}}", tag, check=False)
        if have.returncode == 0 and have.stdout.strip() == want:
            continue
        started = time.monotonic()
        save = subprocess.Popen(["docker", "save", tag], env=first.env(), stdout=subprocess.PIPE)
        try:
            subprocess.run(
                ["docker", "load", "-q"],
                env=host.env(),
                stdin=save.stdout,
                check=True,
                capture_output=True,
                timeout=900,
            )
        finally:
            if save.stdout:
                save.stdout.close()
            save.wait()
        labmod.say(f"{tag} copied to {host.name} in {time.monotonic() - started:.0f}s")
    return tag


@pytest.fixture(scope="session")
def base_image(lab: Lab) -> str:
    from tests.e2e.engine import Unavailable

    try:
        return _build_on_first_then_copy(lab.hosts)
    except Unavailable as exc:
        _unavailable(str(exc))
        raise AssertionError("unreachable") from None


class HubS3(S3Server):
    """`rclone serve s3` on the bridge address, which every host's namespace reaches."""

    @property
    def endpoint(self) -> str:
        return f"http://{labmod.HUB_ADDR}:{self.port}"

    def start(self) -> None:
        if self._proc is not None:
            return
        log = open(self.log or os.devnull, "ab")  # noqa: SIM115 - handed to the child
        try:
            self._proc = subprocess.Popen(
                [
                    rclone_binary(),
                    "serve",
                    "s3",
                    "--addr",
                    f"{labmod.HUB_ADDR}:{self.port}",
                    "--auth-key",
                    f"{self.access_key},{self.secret_key}",
                    str(self.root),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        finally:
            log.close()
        import socket

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"rclone serve s3 exited with {self._proc.returncode}")
            try:
                with socket.create_connection((labmod.HUB_ADDR, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("rclone serve s3 did not listen within 15 s")


@pytest.fixture
def hub_s3(lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    root = tmp_path_factory.mktemp("s3root")
    bucket = f"test-{uuid.uuid4().hex[:10]}"
    (root / bucket).mkdir()
    server = HubS3(root=root, bucket=bucket, port=free_port(), log=Path(f"{root}-serve.log"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
