"""`cs:image --host/--all-hosts` without a running engine: usage, and a host that fails
named. The transfers themselves run in the multihost tier (test_multihost.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from coltec.errors import DockerUnavailable, ImageError
from coltec.hosts.images import OnHosts
from coltec.runtime.docker import DockerEngine
from coltec.runtime.image import ImageResult
from coltec.runtime.imagecopy import Sent, send, send_to_all
from tests.support.mise import mise_run


@pytest.fixture
def hosts_file(tmp_path: Path) -> Path:
    """Two hosts whose engines are not there (no socket at those paths)."""
    path = tmp_path / "hosts.yaml"
    path.write_text(
        "hosts:\n"
        f"  - name: first\n    docker_host: unix://{tmp_path / 'first.sock'}\n"
        f"  - name: second\n    docker_host: unix://{tmp_path / 'second.sock'}\n"
    )
    return path


@pytest.mark.parametrize(
    ("args", "file", "message"),
    [
        (["--host", "first"], "", "--host and --all-hosts name hosts of a hosts file"),
        (["--all-hosts"], "", "--host and --all-hosts name hosts of a hosts file"),
        (["--host", "nope"], "hosts", "no host named 'nope' ("),
        (["--host", "first", "--all-hosts"], "hosts", "--host and --all-hosts: give one"),
        (["--all-hosts", "--docker-host", "unix:///x"], "hosts", "--docker-host cannot be"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(
    hosts_file: Path, args: list[str], file: str, message: str
) -> None:
    env = {**os.environ, "COLTEC_HOSTS": str(hosts_file) if file else ""}
    proc = mise_run("cs:image", *args, env=env)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"error: {message}"), proc.stderr
    assert "hint:" in proc.stderr and "Traceback" not in proc.stderr


def test_a_first_host_that_does_not_answer_is_named_and_exit_1(hosts_file: Path) -> None:
    proc = mise_run("cs:image", "--all-hosts", env={**os.environ, "COLTEC_HOSTS": str(hosts_file)})
    assert proc.returncode == 1, proc.stderr
    assert "building coltec/base:latest on host first (unix://" in proc.stderr
    assert "error: on host first: no Docker engine answers at host first" in proc.stderr


def test_a_target_that_does_not_answer_is_a_failed_send_that_names_it(tmp_path: Path) -> None:
    lines: list[str] = []
    gone = DockerEngine(f"unix://{tmp_path / 'gone.sock'}")
    sent = send("coltec/base:latest", "sha256:1", 1, DockerEngine(), gone, lines.append)
    assert (sent.ok, sent.where) == (False, f"unix://{tmp_path / 'gone.sock'}")
    assert sent.detail.startswith(f"no Docker engine answers at unix://{tmp_path / 'gone.sock'}")
    assert lines == [f"unix://{tmp_path / 'gone.sock'}: FAILED: {sent.detail.splitlines()[0]}"]


def test_a_source_that_does_not_answer_stops_before_any_target(tmp_path: Path) -> None:
    gone = DockerEngine(f"unix://{tmp_path / 'gone.sock'}")
    with pytest.raises(DockerUnavailable, match="no Docker engine answers"):
        send_to_all("coltec/base:latest", gone, [DockerEngine()], print)


def test_the_error_names_every_host_the_image_did_not_reach() -> None:
    built = ImageResult("coltec/base:latest", 1, "w", "r", 1.0, True)
    done = OnHosts(
        built,
        "h1",
        (
            ("h2", Sent("host h2", "failed", 3.0, "docker load failed (exit 1): no space left")),
            ("h3", Sent("host h3", "current", detail="sha256:1")),
            ("h4", Sent("host h4", "failed", 1.0, "no Docker engine answers at host h4")),
        ),
    )
    assert done.failed == ["h2", "h4"]
    with pytest.raises(ImageError) as caught:
        done.check()
    assert caught.value.message == (
        "coltec/base:latest did not reach 2 of 4 hosts:\n"
        "h2: docker load failed (exit 1): no space left\n"
        "h4: no Docker engine answers at host h4"
    )
    assert caught.value.exit_code == 1
    OnHosts(built, "h1", (("h3", Sent("host h3", "sent", 2.0)),)).check()  # no error
