"""cs:list rows, labels, config drift and the lifecycle edge — without a Docker engine.

Docker's side is its real `docker ps --format` output shape; an engine that does not
answer is a DOCKER_HOST socket that does not exist (the real docker CLI says so).
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from coltec.errors import DockerUnavailable
from coltec.runtime import fleet, lifecycle, secrets
from coltec.runtime.docker import Container, DockerEngine, by_workspace, parse_ps, ping
from coltec.runtime.drift import config_hash, drift_of
from coltec.workspaces import Workspace, all_workspaces
from tests.conftest import REPO_ROOT

NOW = datetime(2026, 1, 2, 12, 0, 0, tzinfo=UTC)
NO_ENGINE = "unix:///nonexistent/coltec-test-docker.sock"


def make_workspace(root: Path, key: str, commit: str = "v1") -> Workspace:
    org, name = key.split("/")
    ws = Workspace(org, name, root / org / name)
    (ws.dir / ".devcontainer" / "scripts").mkdir(parents=True)
    ws.spec_file.write_text(
        f"version: '1'\nname: {name}\nmetadata: {{org: {org}, project: api, environment: dev}}\n"
    )
    ws.devcontainer_file.write_text('{"image": "coltec/base:latest"}\n')
    (ws.dir / ".copier-answers.yml").write_text(
        f"_commit: {commit}\n_src_path: https://example.invalid/t.git\n"
    )
    return ws


def container(key: str, state: str, created: str, config_hash: str = "") -> Container:
    return Container(
        f"{key}-{created}".replace("/", "-"), "n", state, "", created, key, config_hash
    )


def test_parse_ps_reads_one_json_object_per_line() -> None:
    line = json.dumps(
        {
            "id": "abc",
            "name": "x",
            "state": "running",
            "status": "Up 3 minutes",
            "created": "2026-01-01 10:00:00 +0000 UTC",
            "workspace": "acme/api-dev",
            "config_hash": "0123456789abcdef",
        }
    )
    [c] = parse_ps([line, ""])
    assert (c.id, c.workspace, c.config_hash, c.running) == (
        "abc",
        "acme/api-dev",
        "0123456789abcdef",
        True,
    )


def test_by_workspace_prefers_the_running_container_then_the_newest() -> None:
    old_running = container("a/x", "running", "2026-01-01 10:00:00")
    newer_exited = container("a/x", "exited", "2026-01-01 11:00:00")
    b_old = container("b/y", "exited", "2026-01-01 09:00:00")
    b_new = container("b/y", "exited", "2026-01-01 12:00:00")
    best = by_workspace([newer_exited, b_new, old_running, b_old])
    assert best["a/x"] is old_running
    assert best["b/y"] is b_new


def test_config_hash_changes_with_any_file_under_devcontainer(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path, "acme/api-dev")
    before = config_hash(ws)
    assert drift_of(before, ws) == "current"
    (ws.dir / "README.md").write_text("outside .devcontainer: no drift")
    assert config_hash(ws) == before
    (ws.dir / ".devcontainer" / "scripts" / "post-start.sh").write_text("#!/bin/sh\n")
    assert config_hash(ws) != before
    assert drift_of(before, ws) == "drifted"
    assert drift_of("", ws) == "unknown"


def test_parse_status_gives_age_and_outcome_per_path() -> None:
    data = {
        "running": True,
        "paths": [
            {"name": "workspace", "outcome": "ok", "last_end": "2026-01-02T11:59:20Z"},
            {"name": "cache", "outcome": "never", "last_end": None},
        ],
    }
    running, paths = fleet.parse_status(data, NOW)
    assert running is True
    assert [(p.name, p.outcome, p.age_seconds) for p in paths] == [
        ("workspace", "ok", 40),
        ("cache", "never", None),
    ]


def test_rows_fill_container_drift_and_worker_columns(tmp_path: Path) -> None:
    a = make_workspace(tmp_path, "acme/api-dev")
    b = make_workspace(tmp_path, "acme/web-dev")
    c = make_workspace(tmp_path, "beta/etl-dev")
    versions = fleet.TemplateVersions()
    rows = [fleet.describe_workspace(w, versions) for w in all_workspaces(tmp_path)]
    assert [(r.workspace, r.project, r.env, r.template_version, r.outdated) for r in rows] == [
        ("acme/api-dev", "api", "dev", "v1", None),  # remote template: not asked by the list
        ("acme/web-dev", "api", "dev", "v1", None),
        ("beta/etl-dev", "api", "dev", "v1", None),
    ]
    found = {
        a.key: Container("a" * 64, "n", "running", "", "t", a.key, config_hash(a)),
        b.key: Container("b" * 64, "n", "exited", "", "t", b.key, "ffffffffffffffff"),
    }
    fleet.fill_containers(rows, found, {w.key: w for w in (a, b, c)})
    asked: list[str] = []

    def status_of(container_id: str) -> object:
        asked.append(container_id)
        return {
            "running": True,
            "paths": [{"name": "workspace", "outcome": "ok", "last_end": "2026-01-02T11:59:50Z"}],
        }

    fleet.fill_workers(rows, status_of, NOW)
    by_key = {r.workspace: r for r in rows}
    assert (by_key[a.key].container, by_key[a.key].drift) == ("running", "current")
    assert by_key[a.key].paths[0].age_seconds == 10
    assert (by_key[b.key].container, by_key[b.key].drift) == ("exited", "drifted")
    assert by_key[b.key].paths == []  # only running containers are asked
    assert (by_key[c.key].container, by_key[c.key].drift) == ("none", None)
    assert asked == ["a" * 12]


def test_a_failing_worker_status_becomes_a_note_not_an_error(tmp_path: Path) -> None:
    a = make_workspace(tmp_path, "acme/api-dev")
    [row] = [fleet.describe_workspace(a, fleet.TemplateVersions())]
    row.container, row.container_id = "running", "abc"

    def broken(_: str) -> object:
        raise ValueError("not JSON")

    fleet.fill_workers([row], broken, NOW)
    assert "worker status unavailable" in row.note


def test_without_an_engine_the_list_still_has_every_workspace(tmp_path: Path) -> None:
    make_workspace(tmp_path, "acme/api-dev")
    result = fleet.list_fleet(DockerEngine(NO_ENGINE), root=tmp_path, now=NOW)
    assert result.docker is False
    assert "no Docker engine answers" in result.docker_error
    assert [r.workspace for r in result.rows] == ["acme/api-dev"]
    assert result.rows[0].container is None


def test_an_unreachable_engine_is_one_line_with_the_fix() -> None:
    with pytest.raises(DockerUnavailable) as caught:
        ping(DockerEngine(NO_ENGINE))
    assert "\n" not in caught.value.message
    assert NO_ENGINE in caught.value.message
    assert "dockerd" in caught.value.hint and "DOCKER_HOST" in caught.value.hint


def test_up_labels_the_container_with_workspace_and_config_hash(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path, "acme/api-dev")
    argv = lifecycle.up_argv("devcontainer", ws, "nexus42", "0123456789abcdef", rebuild=False)
    assert argv[:4] == ["devcontainer", "up", "--workspace-folder", str(ws.dir)]
    labels = [argv[i + 1] for i, a in enumerate(argv) if a == "--id-label"]
    assert labels == [
        "coltec.workspace=acme/api-dev",
        "coltec.nexus=nexus42",
        "coltec.config-hash=0123456789abcdef",
        f"devcontainer.local_folder={ws.dir}",
        f"devcontainer.config_file={ws.dir}/.devcontainer/devcontainer.json",
    ]
    assert "--remove-existing-container" not in argv
    rebuild = lifecycle.up_argv("devcontainer", ws, "nexus42", "0123456789abcdef", rebuild=True)
    assert {"--remove-existing-container", "--build-no-cache"} <= set(rebuild)


def test_the_outcome_line_is_found_after_other_output() -> None:
    out = 'noise\n{"outcome":"success","containerId":"abc","remoteUser":"coltec"}\n'
    assert lifecycle.parse_outcome(out)["containerId"] == "abc"
    assert lifecycle.parse_outcome("no json here\n") == {}


def test_fnox_exports_are_parsed_as_shell_words() -> None:
    text = 'export A=\'x y\'\nexport B="q\\"z"\n# comment\nexport 1BAD=v\nC=plain\n'
    assert secrets.parse_exports(text) == {"A": "x y", "B": 'q"z', "C": "plain"}


# -- the command-line edge, through invoke -------------------------------------------


def invoke(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO_ROOT / ".venv" / "bin" / "python"), str(REPO_ROOT / "tasks.py"), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "DOCKER_HOST": NO_ENGINE}
    created = invoke("new", "acme/api-dev", "--defaults", env=env)
    assert created.returncode == 0, created.stderr
    return env


def test_up_without_an_engine_exits_1_with_a_one_line_error(cli_env: dict[str, str]) -> None:
    result = invoke("up", "acme/api-dev", env=cli_env)
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "no Docker engine answers" in errors[0]
    assert "hint:" in result.stderr


def test_up_refuses_an_invalid_workspace_before_touching_docker(
    cli_env: dict[str, str],
) -> None:
    spec = Path(os.environ["COLTEC_CODESPACES_DIR"]) / "acme" / "api-dev" / ".devcontainer"
    path = spec / "workspace-spec.yaml"
    path.write_text(path.read_text().replace("interval: 300", "interval: 5"))
    result = invoke("up", "acme/api-dev", env=cli_env)
    assert result.returncode == 1
    assert "is invalid; not starting it" in result.stderr
    assert "Docker" not in result.stderr


def test_list_without_an_engine_lists_and_says_columns_are_unavailable(
    cli_env: dict[str, str],
) -> None:
    result = invoke("list", env=cli_env)
    assert result.returncode == 0, result.stderr
    assert "acme/api-dev" in result.stdout
    assert "container columns unavailable" in result.stderr
    data = json.loads(invoke("list", "--json", env=cli_env).stdout)
    assert data["docker"] is False
    assert [w["workspace"] for w in data["workspaces"]] == ["acme/api-dev"]


def test_without_a_running_container_the_last_sync_comes_from_the_state_folder(
    tmp_path: Path,
) -> None:
    """The worker's state lives in the workspace folder: the host reads it directly."""
    ws = make_workspace(tmp_path / "codespaces", "acme/api-dev")
    data = ws.dir / "data"
    data.mkdir()
    (data / "notes.txt").write_text("hello\n")
    ws.spec_file.write_text(
        "name: api-dev\nmetadata: {org: acme, project: api}\n"
        "persistence:\n  enabled: true\n  sync:\n"
        f"    - {{name: data, path: {data}, remote_path: '{{org}}/{{name}}/data'}}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME="", COLTEC_USER_CONFIG="")
    worker = REPO_ROOT / ".venv" / "bin" / "coltec-worker"
    run = subprocess.run(
        [str(worker), "--config", str(ws.spec_file), "--once", "--start-delay", "0"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    result = fleet.list_fleet(DockerEngine(NO_ENGINE), root=tmp_path / "codespaces")
    (row,) = result.rows
    assert [(p.name, p.outcome) for p in row.paths] == [("data", "ok")]
    assert row.paths[0].age_seconds is not None and row.paths[0].age_seconds < 600
    assert row.worker_running is None  # a pid on the host says nothing about a container
