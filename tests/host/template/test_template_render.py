"""Every project_type x persistence x networking renders into a valid, loadable workspace."""

from __future__ import annotations

import itertools
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from coltec.checks.run import validate_files
from coltec.template import rendering
from tests.host.template.conftest import REPO_ROOT
from tests.support.budget import budget

PROJECT_TYPES = ("python", "rust", "node", "generic")
COMBOS = list(itertools.product(PROJECT_TYPES, (True, False), (True, False)))
DEVCONTAINER = REPO_ROOT / "node_modules" / ".bin" / "devcontainer"
SCRIPTS = ("post-create.sh", "post-start.sh")


def combo_id(combo: tuple[str, bool, bool]) -> str:
    kind, persistence, networking = combo
    return f"{kind}-{'persist' if persistence else 'nopersist'}-{'net' if networking else 'nonet'}"


@pytest.fixture(scope="session")
@budget(180)  # 16 copier copies (15 s warm, 2 cores)
def renders(template_v1: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each combination rendered once, with real copier, as a workspace folder."""
    root = tmp_path_factory.mktemp("renders")
    source = rendering.TemplateSource(str(template_v1), None)
    out: dict[str, Path] = {}
    for combo in COMBOS:
        kind, persistence, networking = combo
        dst = root / "team" / combo_id(combo)
        data = {
            "org": "team",
            "project": "proj",
            "name": combo_id(combo),
            "project_type": kind,
            "persistence_enabled": persistence,
            "networking_enabled": networking,
            "run_args": ["--network=host"],
        }
        rendering.copy(source, dst, data, defaults=True)
        out[combo_id(combo)] = dst
    return out


def _docker_path() -> str:
    """The real docker CLI when an engine answers, else `true`.

    read-configuration first asks `docker ps` for an existing container of the folder;
    with no engine here that lookup fails before the configuration is read. `true`
    answers it like an engine with no containers (empty output, exit 0) — the lookup
    is not what this test checks; the configuration is.
    """
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False)
    return "docker" if probe.returncode == 0 else "true"


@pytest.mark.parametrize("combo", COMBOS, ids=combo_id)
def test_render_is_valid_and_loadable(renders: dict[str, Path], combo: tuple[str, bool, bool]):
    kind, persistence, networking = combo
    ws = renders[combo_id(combo)]
    spec_file = ws / ".devcontainer" / "workspace-spec.yaml"

    run = validate_files([spec_file])
    assert run.ok, [p.format() for r in run.reports for p in r.problems]

    spec = yaml.safe_load(spec_file.read_text())
    assert spec["persistence"]["enabled"] is persistence
    assert spec["networking"]["enabled"] is networking
    sync = spec["persistence"]["sync"]
    assert [(s["name"], s["path"], s["remote_path"]) for s in sync] == [
        ("workspace", "/workspace", "{org}/{project}/{env}/{name}/workspace")
    ]
    assert ".coltec/**" in sync[0]["exclude"]
    assert spec_file.read_text().startswith("# yaml-language-server: $schema=")

    # Strict JSON (no comments), and what the devcontainer CLI makes of it.
    config = json.loads((ws / ".devcontainer" / "devcontainer.json").read_text())
    assert config["containerEnv"]["COLTEC_PROJECT_TYPE"] == kind
    read = subprocess.run(
        [
            str(DEVCONTAINER),
            "read-configuration",
            "--workspace-folder",
            str(ws),
            "--docker-path",
            _docker_path(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "HOME": "/home/tester",
            "COLTEC_SECRETS_DIR": "/run/user/7/coltec/abc",
            "COLTEC_CONTAINER_USER": "root",
        },
    )
    assert read.returncode == 0, read.stderr[-2000:]
    loaded = json.loads(read.stdout)
    cfg = loaded["configuration"]
    assert cfg["workspaceFolder"] == "/workspace"
    assert loaded["workspace"]["workspaceMount"] == f"source={ws},target=/workspace,type=bind"
    assert cfg["runArgs"] == ["--network=host"]
    assert cfg["initializeCommand"] == ["mkdir", "-p", "/home/tester/.config/coltec"]
    assert cfg["mounts"] == [
        "source=/home/tester/.config/coltec,target=/home/coltec/.config/coltec,type=bind,readonly",
        "source=/run/user/7/coltec/abc,target=/run/coltec/secrets,type=bind,readonly",
    ]
    assert (cfg["containerUser"], cfg["remoteUser"]) == ("root", "root")
    env = cfg["containerEnv"]
    assert (env["WORKSPACE_ORG"], env["WORKSPACE_PROJECT"], env["WORKSPACE_ENV"]) == (
        "team",
        "proj",
        "dev",
    )
    assert env["WORKSPACE_NAME"] == combo_id(combo)
    # No secret, nor a reference to one, in the container's environment (that would be a
    # `docker run -e` command line): only the path of the mounted secrets file.
    assert not [k for k in env if k.startswith(("RCLONE_", "TAILSCALE_")) or "CRYPT" in k]
    assert env["COLTEC_SECRETS_FILE"] == "/run/coltec/secrets/secrets.json"
    assert env["COLTEC_START_DELAY"] == "60"
    assert cfg["postCreateCommand"] == ["bash", ".devcontainer/scripts/post-create.sh"]
    assert cfg["postStartCommand"] == ["bash", ".devcontainer/scripts/post-start.sh"]
    features = " ".join(cfg.get("features", {}))
    assert (kind in features) is (kind != "generic")

    for script in SCRIPTS:
        path = ws / ".devcontainer" / "scripts" / script
        assert path.stat().st_mode & stat.S_IXUSR, f"{script} is not executable"

    gitignore = (ws / ".gitignore").read_text().splitlines()
    assert ".coltec/" in gitignore


def test_invoke_validate_accepts_every_render(renders: dict[str, Path]):
    """The CLI itself (`cs:validate DIR...`) passes all combinations at once."""
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tasks.py"), "validate", *map(str, renders.values())],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(COMBOS)}/{len(COMBOS)} valid" in result.stdout


def test_scripts_pass_bash_n_and_shellcheck(renders: dict[str, Path]):
    shellcheck = Path(sys.executable).parent / "shellcheck"
    paths = [ws / ".devcontainer" / "scripts" / s for ws in renders.values() for s in SCRIPTS]
    for path in paths:
        syntax = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
        assert syntax.returncode == 0, f"{path}: {syntax.stderr}"
    # The scripts are the same in every render; shellcheck one set, plus the template's own.
    first = next(iter(renders.values())) / ".devcontainer" / "scripts"
    checked = subprocess.run(
        [str(shellcheck), "--severity=style", *(str(first / s) for s in SCRIPTS)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stdout


def test_scripts_take_nothing_from_answers(renders: dict[str, Path]):
    """No answer is pasted into a script: every render's scripts are byte-identical."""
    for script in SCRIPTS:
        versions = {
            (ws / ".devcontainer" / "scripts" / script).read_bytes() for ws in renders.values()
        }
        assert len(versions) == 1, script
