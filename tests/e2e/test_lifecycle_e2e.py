"""End to end on a real Docker engine: cs:new -> cs:up -> the worker syncs -> cs:list -> cs:down.

Everything runs through the user's commands (`mise run cs:...`), against a real
`rclone serve s3` endpoint on 127.0.0.1 that the container reaches over the host
network (the template's `run_args` answer).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.e2e.engine import DockerEngine
from tests.s3 import S3Server

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORKSPACE = "e2e/demo-dev"
INTERVAL = 30  # the smallest interval the rules allow
SLACK = 20  # one rclone run plus scheduling, on a slow machine
WORKER_LOG = "/workspace/.coltec/state/worker.log"
PREFIX = "e2e/demo/dev/demo-dev/workspace"  # remote_path {org}/{project}/{env}/{name}/workspace


def cs(
    env: dict[str, str], *args: str, check: bool = True, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`mise run cs:...` as a user types it."""
    proc = subprocess.run(
        [str(REPO_ROOT / "node_modules" / ".bin" / "mise"), "run", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if check and proc.returncode != 0:
        pytest.fail(
            f"mise run {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}",
            pytrace=False,
        )
    return proc


def wait_for(
    what: str, predicate: Callable[[], bool], timeout: float, diagnose: Callable[[], str]
) -> float:
    """Poll until predicate holds; the seconds it took. (e2e only: real time is the point.)"""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(1)
    pytest.fail(f"{what}: not within {timeout:.0f}s\n{diagnose()}", pytrace=False)


def in_container(
    engine: DockerEngine, container: str, *argv: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["docker", "exec", container, *argv],
        env=engine.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def container_state(engine: DockerEngine) -> tuple[str, str]:
    out = engine.docker(
        "ps",
        "-a",
        "--filter",
        f"label=coltec.workspace={WORKSPACE}",
        "--format",
        "{{.ID}} {{.State}}",
    ).split()
    assert len(out) == 2, f"expected one container for {WORKSPACE}, got {out}"
    return out[0], out[1]


def prepare_workspace(ws_dir: Path) -> None:
    """Two test-only adjustments to the rendered workspace."""
    # 1. Start syncing at once, not after the production default's random delay.
    config = ws_dir / ".devcontainer" / "devcontainer.json"
    data: dict[str, Any] = json.loads(config.read_text())
    data["containerEnv"]["COLTEC_START_DELAY"] = "0"
    config.write_text(json.dumps(data, indent=2) + "\n")
    # 2. devcontainer maps the container user to the caller's UID; as root it cannot
    #    (uid 0 is taken), so give the folder to the container user's UID, as a
    #    non-root user's own files would be.
    if os.geteuid() == 0:
        for path in [ws_dir, *ws_dir.rglob("*")]:
            os.lchown(path, 1000, 1000)


def test_workspace_lifecycle_on_a_real_engine(
    docker_engine: DockerEngine, coltec_image: str, s3: S3Server, tmp_path: Path
) -> None:
    env = {
        **docker_engine.env(),
        **s3.env("r2"),
        "MISE_YES": "1",
        "MISE_TRUSTED_CONFIG_PATHS": str(REPO_ROOT),
        "HOME": str(tmp_path / "home"),
    }
    env.pop("DOCKER_BUILDKIT", None)
    Path(env["HOME"]).mkdir()
    ws_dir = Path(os.environ["COLTEC_CODESPACES_DIR"]) / WORKSPACE

    cs(
        env,
        "cs:new",
        WORKSPACE,
        "--defaults",
        "--data",
        "project=demo",
        "--data",
        'run_args=["--network=host"]',
        "--data",
        f"sync_interval={INTERVAL}",
        "--data",
        f"base_image={coltec_image}",
    )
    prepare_workspace(ws_dir)

    up = cs(env, "cs:up", WORKSPACE)
    assert f"{WORKSPACE} is up" in up.stdout
    container, state = container_state(docker_engine)
    assert state == "running"

    # The worker runs inside, started detached by post-start.sh.
    status = json.loads(
        in_container(docker_engine, container, "coltec-worker", "status", "--json").stdout
    )
    assert status["running"] is True, status
    assert '"event":"started"' in cs(env, "cs:logs", WORKSPACE).stdout.replace(" ", "")

    # Both directions within one interval: written inside -> bucket; put in bucket -> inside.
    cs(env, "cs:exec", WORKSPACE, "--", "sh", "-c", "echo from-inside > /workspace/inside.txt")
    subprocess.run(
        ["rclone", "rcat", s3.remote("r2", f"{PREFIX}/outside.txt")],
        input="from-bucket\n",
        env={**os.environ, **s3.env("r2")},
        text=True,
        check=True,
        capture_output=True,
        timeout=60,
    )
    pushed = s3.bucket_dir / PREFIX / "inside.txt"

    def worker_log() -> str:
        tail = in_container(docker_engine, container, "tail", "-n", "15", WORKER_LOG)
        return f"worker log (last lines):\n{tail.stdout}{tail.stderr}"

    wait_for(
        "a file written in the container reaches the bucket",
        lambda: pushed.is_file() and pushed.read_text() == "from-inside\n",
        INTERVAL + SLACK,
        worker_log,
    )
    wait_for(
        "a file put in the bucket reaches the container",
        lambda: (
            in_container(docker_engine, container, "cat", "/workspace/outside.txt").stdout
            == "from-bucket\n"
        ),
        INTERVAL + SLACK,
        worker_log,
    )

    # cs:list --json: running, configuration current, a recent successful sync.
    listed = json.loads(cs(env, "cs:list", "--json").stdout)
    assert listed["docker"] is True
    row = next(r for r in listed["workspaces"] if r["workspace"] == WORKSPACE)
    assert row["container"] == "running"
    assert row["drift"] == "current"
    assert row["worker_running"] is True
    [path] = row["paths"]
    assert path["outcome"] in ("ok", "recovered"), path
    assert path["age_seconds"] is not None and path["age_seconds"] <= INTERVAL + SLACK

    # An edit made just before cs:down is in the bucket afterwards; the container stops.
    in_container(
        docker_engine, container, "sh", "-c", "echo last-words > /workspace/last-edit.txt"
    ).check_returncode()
    down = cs(env, "cs:down", WORKSPACE)
    assert "final sync done" in down.stdout
    assert (s3.bucket_dir / PREFIX / "last-edit.txt").read_text() == "last-words\n"
    assert container_state(docker_engine)[1] == "exited"

    # Configuration edited after the container was made: cs:list reports the drift.
    spec = ws_dir / ".devcontainer" / "workspace-spec.yaml"
    spec.write_text(spec.read_text() + "# edited\n")
    listed = json.loads(cs(env, "cs:list", "--json").stdout)
    row = next(r for r in listed["workspaces"] if r["workspace"] == WORKSPACE)
    assert (row["container"], row["drift"]) == ("exited", "drifted")
