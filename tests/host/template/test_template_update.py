"""cs:new and cs:update against a real template repo (v1 -> v2) and a real nexus git repo."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest
import yaml

from coltec.template.create import new_workspace
from coltec.template.update import update_workspace
from coltec.workspaces import existing_workspace
from tests.host.template.conftest import commit_all, edit_file, git

Cli = Callable[..., CompletedProcess[str]]
DEVCONTAINER = Path(".devcontainer") / "devcontainer.json"
TEMPLATE_DC = Path("template") / ".devcontainer" / "devcontainer.json.jinja"


def create(key: str, *data: str) -> Path:
    created = new_workspace(key, list(data), defaults=True)
    assert created.validation.ok
    return created.workspace.dir


def template_v2(repo: Path) -> None:
    """The template change every update test takes in: one more VS Code extension."""
    edit_file(repo / TEMPLATE_DC, '"redhat.vscode-yaml"]', '"redhat.vscode-yaml", "v2.extension"]')
    commit_all(repo, "template v2", "v2")


# -- cs:new -----------------------------------------------------------------------------


def test_new_renders_validates_and_refuses_to_overwrite(template_repo: Path, nexus: Path, cli: Cli):
    first = cli(
        "new",
        "team/api-dev",
        "--data",
        "project_type=python",
        "--data",
        'description=My "API" $(x)',
        "--data",
        "run_args=--network=host",
    )
    assert first.returncode == 0, first.stderr
    assert "created team/api-dev" in first.stdout and "declaration valid" in first.stdout
    ws = nexus / "codespaces" / "team" / "api-dev"
    config = json.loads((ws / DEVCONTAINER).read_text())
    assert config["runArgs"] == ["--network=host"]
    answers = (ws / ".copier-answers.yml").read_text()
    assert "_commit: v1" in answers and "project: api" in answers  # project inferred from name

    again = cli("new", "team/api-dev", "--defaults")
    assert again.returncode == 2
    assert "already exists" in again.stderr and "cs:update" in again.stderr
    assert "Traceback" not in again.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["team/x", "--data", "sync_intervl=60"], "did you mean 'sync_interval'"),
        (["team/x", "--data", "nonsense"], "KEY=VALUE"),
        (["team/x", "--data", "org=other"], "contradicts"),
        (["team/x", "--data", "sync_interval=5"], "at least 10"),
        (["Team X"], "ORG/NAME"),
        ([], "expected one ORG/NAME"),
        (["team/x", "--frobnicate"], "unknown option"),
    ],
)
def test_new_usage_errors_exit_2_with_a_hint(
    template_repo: Path, nexus: Path, cli: Cli, args: list[str], says: str
):
    result = cli("new", *args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr
    assert "hint:" in result.stderr and "Traceback" not in result.stderr
    assert not (nexus / "codespaces" / "team" / "x").exists()


def test_new_defaults_to_this_repository_at_head(nexus: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("COLTEC_TEMPLATE", raising=False)
    from coltec.template.rendering import git_head, read_answers
    from tests.host.template.conftest import REPO_ROOT

    ws = create("team/self-dev")
    answers = (ws / ".copier-answers.yml").read_text()
    # recorded relative to the workspace, so every clone of the nexus can update it
    recorded = yaml.safe_load(answers)["_src_path"]
    assert not recorded.startswith("/")
    assert (ws / recorded).resolve() == REPO_ROOT.resolve()
    assert read_answers(ws)["_src_path"] == str(REPO_ROOT.resolve())
    head = git_head(REPO_ROOT)
    described = git(REPO_ROOT, "describe", "--tags", "--always", head).strip()
    # compared as YAML: an all-digit short hash is written quoted
    assert str(yaml.safe_load(answers)["_commit"]) == described


# -- cs:update ----------------------------------------------------------------------------


def test_update_keeps_the_users_edit(template_repo: Path, nexus: Path):
    ws = create("team/api-dev")
    edit_file(
        ws / DEVCONTAINER,
        '"workspaceFolder": "/workspace",',
        '"workspaceFolder": "/workspace",\n  "shutdownAction": "none",',
    )
    commit_all(nexus, "workspace with an edit")
    template_v2(template_repo)

    result = update_workspace(existing_workspace("team/api-dev"))

    assert (result.outcome, result.from_version, result.to_version) == ("updated", "v1", "v2")
    assert ".devcontainer/devcontainer.json" in result.files
    config = json.loads((ws / DEVCONTAINER).read_text())
    assert config["shutdownAction"] == "none"  # the user's edit
    assert "v2.extension" in config["customizations"]["vscode"]["extensions"]  # the template's
    # At v2 already: current, whatever the (uncommitted) state of its files.
    assert update_workspace(existing_workspace("team/api-dev")).outcome == "current"
    commit_all(nexus, "updated")
    assert update_workspace(existing_workspace("team/api-dev")).outcome == "current"


def test_colliding_edit_is_a_conflict_and_exits_non_zero(
    template_repo: Path, nexus: Path, cli: Cli
):
    ws = create("team/api-dev")
    edit_file(ws / DEVCONTAINER, '"redhat.vscode-yaml"', '"my.own-extension"')
    commit_all(nexus, "workspace edit in the same lines")
    template_v2(template_repo)

    dry = cli("update", "team/api-dev", "--dry-run")
    assert dry.returncode == 1, dry.stdout + dry.stderr
    assert "would be conflicts" in dry.stdout and "devcontainer.json" in dry.stdout
    assert git(nexus, "status", "--porcelain") == ""  # a dry run touches nothing

    result = cli("update", "team/api-dev")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "conflicts" in result.stdout and ".devcontainer/devcontainer.json" in result.stdout
    text = (ws / DEVCONTAINER).read_text()
    assert "<<<<<<< before updating" in text and "my.own-extension" in text


def test_update_skips_what_it_cannot_do_safely(
    template_repo: Path, nexus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    ws = create("team/api-dev")
    commit_all(nexus, "ws")
    template_v2(template_repo)
    (ws / ".devcontainer" / "workspace-spec.yaml").write_text(
        "# my uncommitted edit\n", encoding="utf-8"
    )
    dirty = update_workspace(existing_workspace("team/api-dev"))
    assert dirty.outcome == "skipped" and "uncommitted changes" in dirty.reason
    assert (ws / ".devcontainer" / "workspace-spec.yaml").read_text() == "# my uncommitted edit\n"

    # Outside any git repository: skipped with the reason, nothing touched.
    loose = tmp_path / "loose"
    monkeypatch.setenv("COLTEC_CODESPACES_DIR", str(loose))
    create("team/loose-dev")
    edit_file(template_repo / TEMPLATE_DC, '"v2.extension"]', '"v2.extension", "v3.extension"]')
    commit_all(template_repo, "template v3", "v3")
    skipped = update_workspace(existing_workspace("team/loose-dev"))
    assert skipped.outcome == "skipped" and "not inside a git repository" in skipped.reason

    # Without an answers file: skipped, pointing at cs:adopt.
    (loose / "team" / "loose-dev" / ".copier-answers.yml").unlink()
    unmanaged = update_workspace(existing_workspace("team/loose-dev"))
    assert unmanaged.outcome == "skipped" and "cs:adopt" in unmanaged.reason


def test_bulk_update_of_20_workspaces(template_repo: Path, nexus: Path, cli: Cli):
    """8 outdated, 6 already current, 6 dirty: --all reports each, table, exit 0."""
    names = [f"ws-{i:02d}" for i in range(20)]
    for name in names[:14]:
        create(f"team/{name}")
    commit_all(nexus, "14 workspaces at v1")
    template_v2(template_repo)
    for name in names[14:]:
        create(f"team/{name}")  # rendered at v2: current
    commit_all(nexus, "6 workspaces at v2")
    dirty = names[8:14]
    for name in dirty:
        path = nexus / "codespaces" / "team" / name / DEVCONTAINER
        path.write_text(path.read_text().replace("/workspace", "/work"), encoding="utf-8")

    result = cli("update", "--all", "--json")
    assert result.returncode == 0, result.stderr
    outcomes = {r["workspace"]: r["outcome"] for r in json.loads(result.stdout)}
    assert outcomes == {
        **{f"team/{n}": "updated" for n in names[:8]},
        **{f"team/{n}": "skipped" for n in dirty},
        **{f"team/{n}": "current" for n in names[14:]},
    }
    for name in dirty:  # never clobbered
        assert '/work"' in (nexus / "codespaces" / "team" / name / DEVCONTAINER).read_text()

    commit_all(nexus, "updated")  # the 6 formerly dirty ones are committed now
    table = cli("update", "--all")
    assert table.returncode == 0, table.stderr
    lines = [" ".join(line.split()) for line in table.stdout.splitlines()]
    assert "│ updated │ 6 │" in lines and "│ current │ 14 │" in lines
    for name in dirty:  # updated, and the user's edit kept
        text = (nexus / "codespaces" / "team" / name / DEVCONTAINER).read_text()
        assert '/work"' in text and "v2.extension" in text


def test_one_conflict_stays_inside_its_workspace(template_repo: Path, nexus: Path, cli: Cli):
    """--all with a conflict in the middle: the others update; the index is clean outside it."""
    for name in ("a-dev", "b-dev", "c-dev"):
        create(f"team/{name}")
    clash = nexus / "codespaces" / "team" / "b-dev"
    edit_file(clash / DEVCONTAINER, '"redhat.vscode-yaml"', '"my.own-extension"')
    commit_all(nexus, "three workspaces, b-dev edited where the template changes")
    template_v2(template_repo)

    dry = cli("update", "--all", "--dry-run", "--json")
    predicted = {r["workspace"]: r["outcome"] for r in json.loads(dry.stdout)}
    real = cli("update", "--all", "--json")
    outcomes = {r["workspace"]: r["outcome"] for r in json.loads(real.stdout)}

    assert real.returncode == 1, real.stderr
    assert outcomes == {"team/a-dev": "updated", "team/b-dev": "conflicts", "team/c-dev": "updated"}
    assert predicted == outcomes  # the dry run predicted each workspace exactly
    unmerged = git(nexus, "ls-files", "--unmerged", "-z").split("\0")
    paths = {line.split("\t", 1)[1] for line in unmerged if "\t" in line}
    assert paths and all(p.startswith("codespaces/team/b-dev/") for p in paths)
    for name in ("a-dev", "c-dev"):
        config = json.loads((nexus / "codespaces" / "team" / name / DEVCONTAINER).read_text())
        assert "v2.extension" in config["customizations"]["vscode"]["extensions"]
