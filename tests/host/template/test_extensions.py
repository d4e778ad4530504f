"""Template extensions (extensions/<name>/): cs:new --template renders from one, cs:update
and cs:outdated keep the workspace on it; the org exception for --privileged is needed."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest
import yaml

from coltec.template.answers import load_questions
from coltec.template.extensions import available, load_extension
from coltec.workspaces import REPO_ROOT
from tests.host.template.conftest import commit_all, edit_file, git

Cli = Callable[..., CompletedProcess[str]]
EXTENSIONS = REPO_ROOT / "extensions"
NAMES = ("coltec-network", "coltec-opencode", "coltec-venture")


def base_files() -> list[str]:
    root = REPO_ROOT / "template"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


@pytest.fixture
def coltec_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The default layer plus the repository's coltec org file (its --privileged exception)."""
    policy = Path(os.environ["COLTEC_POLICY_DIR"])
    (policy / "orgs").mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "policy" / "orgs" / "coltec.yaml", policy / "orgs" / "coltec.yaml")


def test_the_predecessors_extensions_are_there() -> None:
    assert set(NAMES) <= set(available(REPO_ROOT))


@pytest.mark.parametrize("name", NAMES)
def test_every_base_file_is_in_each_extension_and_links_stay_inside(name: str) -> None:
    root = EXTENSIONS / name / "template"
    for rel in base_files():
        assert (root / rel).is_file(), f"{name} lacks {rel} (own file or symlink to template/)"
    for path in root.rglob("*"):
        if path.is_symlink():
            assert path.resolve().is_relative_to(REPO_ROOT), f"{path} points outside the repo"
            assert not os.path.isabs(os.readlink(path)), f"{path}: use a relative link"


@pytest.mark.parametrize("name", NAMES)
def test_each_manifest_names_only_template_questions(name: str) -> None:
    ext = load_extension(REPO_ROOT, name, load_questions(REPO_ROOT))
    assert ext.description
    assert ext.defaults()["extension"] == name


def test_an_unknown_extension_is_a_usage_error_listing_the_others(nexus: Path, cli: Cli) -> None:
    result = cli("new", "coltec/x-dev", "--template", "no-such", "--defaults")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "no such extension" in result.stderr and "coltec-venture" in result.stderr
    assert not (nexus / "codespaces" / "coltec" / "x-dev").exists()


def test_venture_renders_networking_dind_and_its_layout(
    nexus: Path, cli: Cli, coltec_policy: None
) -> None:
    result = cli("new", "coltec/venture-dev", "--template", "coltec-venture", "--defaults")
    assert result.returncode == 0, result.stdout + result.stderr
    ws = nexus / "codespaces" / "coltec" / "venture-dev"
    config = json.loads((ws / ".devcontainer" / "devcontainer.json").read_text())
    assert config["runArgs"] == ["--privileged"]
    assert config["image"].endswith("/base-dind-net:latest")
    assert any("/var/lib/docker" in m for m in config["mounts"])
    assert "start-docker.sh" in json.dumps(config["postStartCommand"])
    spec = yaml.safe_load((ws / ".devcontainer" / "workspace-spec.yaml").read_text())
    assert spec["networking"]["enabled"] is True
    paths = {s["name"]: s for s in spec["persistence"]["sync"]}
    assert paths["agent-context"]["direction"] == "bidirectional"
    assert paths["scratch"]["direction"] == "push-only"
    assert (ws / ".devcontainer" / "scripts" / "start-docker.sh").is_file()
    assert not (ws / ".devcontainer" / "scripts" / "start-docker.sh").is_symlink()
    answers = yaml.safe_load((ws / ".copier-answers.yml").read_text())
    assert answers["extension"] == "coltec-venture"


def test_privileged_needs_the_org_exception(nexus: Path, cli: Cli) -> None:
    """Without policy/orgs/coltec.yaml the default policy refuses the venture container,
    before anything is written (exit 2)."""
    result = cli("new", "coltec/venture-dev", "--template", "coltec-venture", "--defaults")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "policy rule 'privileged'" in result.stderr
    assert not (nexus / "codespaces" / "coltec").exists()


def test_data_wins_over_the_extensions_answers(nexus: Path, cli: Cli, coltec_policy: None) -> None:
    result = cli(
        "new", "coltec/quiet-dev", "--template", "coltec-venture", "--defaults",
        "--data", "networking_enabled=false",
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    ws = nexus / "codespaces" / "coltec" / "quiet-dev"
    spec = yaml.safe_load((ws / ".devcontainer" / "workspace-spec.yaml").read_text())
    assert spec["networking"]["enabled"] is False


def test_update_and_outdated_keep_an_opencode_workspace_on_its_extension(
    template_repo: Path, nexus: Path, cli: Cli, coltec_policy: None
) -> None:
    created = cli("new", "coltec/agents-dev", "--template", "coltec-opencode", "--defaults")
    assert created.returncode == 0, created.stdout + created.stderr
    ws = nexus / "codespaces" / "coltec" / "agents-dev"
    commit_all(nexus, "add agents-dev")
    mine = (ws / "AGENTS.md").read_text() + "\nOur own rule: tests first.\n"
    (ws / "AGENTS.md").write_text(mine)
    commit_all(nexus, "edit AGENTS.md")

    # The base template changes (a symlinked file) and so does the extension's own file.
    edit_file(
        template_repo / "template" / ".devcontainer" / "devcontainer.json.jinja",
        '"redhat.vscode-yaml"]',
        '"redhat.vscode-yaml", "v2.extension"]',
    )
    edit_file(
        template_repo / "extensions" / "coltec-opencode" / "template" / "mise.toml.jinja",
        "[env]\n",
        '[env]\nV2 = "1"\n',
    )
    commit_all(template_repo, "template v2", "v2")
    before = json.loads(cli("outdated", "--json", "--no-edits").stdout)
    assert [r["outdated"] for r in before if r["workspace"] == "coltec/agents-dev"] == [True]

    updated = cli("update", "coltec/agents-dev")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    config = json.loads((ws / ".devcontainer" / "devcontainer.json").read_text())
    assert "v2.extension" in config["customizations"]["vscode"]["extensions"]
    assert config["runArgs"] == ["--privileged"]
    assert 'V2 = "1"' in (ws / "mise.toml").read_text()
    assert (ws / "AGENTS.md").read_text() == mine  # the user's edit kept
    assert (ws / ".opencode" / "opencode.json").is_file()
    answers = yaml.safe_load((ws / ".copier-answers.yml").read_text())
    assert answers["extension"] == "coltec-opencode" and answers["_commit"] == "v2"
    commit_all(nexus, "update agents-dev")
    assert git(nexus, "status", "--porcelain") == ""

    outdated = cli("outdated", "--json")
    assert outdated.returncode == 0, outdated.stderr
    (row,) = [r for r in json.loads(outdated.stdout) if r["workspace"] == "coltec/agents-dev"]
    assert row["edited"] == ["AGENTS.md"], row  # the one real hand edit, nothing else
    assert row["outdated"] is False
