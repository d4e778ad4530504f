"""Fixtures of the end-to-end tier: a real Docker engine and the coltec base image.

`docker_engine` uses an engine that answers (DOCKER_HOST or the default socket); else,
as root, it starts a private dockerd (see engine.py) and stops it after the session.
Not root and no engine: the tier skips with the reason — except in CI (CI=true), where
it must run, so it fails instead.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.engine import DockerEngine, Unavailable, base_image, start_engine


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"e2e tier cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"e2e: {reason}")


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    try:
        engine = start_engine()
    except Unavailable as exc:
        _unavailable(str(exc))
        raise AssertionError("unreachable") from None
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture(scope="session")
def coltec_image(docker_engine: DockerEngine) -> str:
    """The base image (built once, cached by Dockerfile + wheel hashes), by its default tag."""
    try:
        return base_image(docker_engine)
    except Unavailable as exc:
        _unavailable(str(exc))
        raise AssertionError("unreachable") from None
