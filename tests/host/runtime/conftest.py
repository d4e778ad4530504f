"""Fixtures of the end-to-end tier: a real Docker engine and the coltec base image.

`docker_engine` uses an engine that answers (DOCKER_HOST or the default socket); else,
as root, it starts a private dockerd (see engine.py) and stops it after the session.
Not root and no engine: the tier skips with the reason — except in CI (CI=true), where
it must run, so it fails instead.

`coltec_image` is built the way the README says: `mise run cs:image --base-image
ROOTFS --offline`, ROOTFS being the one thing no registry can give us here.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import REPO_ROOT
from tests.support.budget import budget, step
from tests.support.engine import DockerEngine, Unavailable, rootfs_image, start_engine
from tests.support.mise import tier_unavailable


@pytest.fixture(scope="session")
@budget(120)  # a dockerd on an empty data root answers in seconds
def docker_engine() -> Iterator[DockerEngine]:
    try:
        engine = start_engine()
    except Unavailable as exc:
        tier_unavailable("e2e", str(exc))
        raise AssertionError("unreachable") from None
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session")
@budget(600)  # cold: debootstrap rootfs 52 s + cs:image 93 s (measured, 2 cores)
def coltec_image(docker_engine: DockerEngine) -> str:
    """The base image's tag (base-image/IMAGE), built by `cs:image` from this checkout."""
    try:
        rootfs = rootfs_image(docker_engine)
    except Unavailable as exc:
        tier_unavailable("e2e", str(exc))
        raise AssertionError("unreachable") from None
    env = {k: v for k, v in docker_engine.env().items() if k != "DOCKER_BUILDKIT"}
    env.update({"MISE_YES": "1", "MISE_TRUSTED_CONFIG_PATHS": str(REPO_ROOT)})
    with step("e2e", f"mise run cs:image --base-image {rootfs} --offline"):
        built = subprocess.run(
            [
                str(REPO_ROOT / "node_modules" / ".bin" / "mise"),
                "run",
                "cs:image",
                "--base-image",
                rootfs,
                "--offline",
            ],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1800,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    if built.returncode != 0:
        pytest.fail(
            f"mise run cs:image exited {built.returncode}\n{built.stdout}\n{built.stderr[-3000:]}",
            pytrace=False,
        )
    print(built.stdout.strip())  # the tag, size and versions, for the log
    return (REPO_ROOT / "base-image" / "IMAGE").read_text().strip()
