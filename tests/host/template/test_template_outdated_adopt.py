"""cs:outdated (version + hand edits) and cs:adopt (infer, diff, apply, round trip)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest
import yaml

from coltec.errors import UsageError
from coltec.template.adopt import adopt
from coltec.template.create import new_workspace
from coltec.template.outdated import check_drift
from coltec.template.update import update_workspace
from coltec.workspaces import existing_workspace
from tests.host.template.conftest import commit_all, edit_file

Cli = Callable[..., CompletedProcess[str]]
DEVCONTAINER = Path(".devcontainer") / "devcontainer.json"
SPEC = Path(".devcontainer") / "workspace-spec.yaml"
TEMPLATE_DC = Path("template") / ".devcontainer" / "devcontainer.json.jinja"


def test_outdated_reports_versions_and_hand_edits(template_repo: Path, nexus: Path, cli: Cli):
    for key in ("team/clean-dev", "team/edited-dev"):
        assert new_workspace(key, [], defaults=True).validation.ok
    edited = nexus / "codespaces" / "team" / "edited-dev"
    edit_file(
        edited / DEVCONTAINER, '"workspaceFolder"', '"shutdownAction": "none",\n  "workspaceFolder"'
    )
    commit_all(nexus, "two workspaces")

    clean = check_drift(existing_workspace("team/clean-dev"))
    assert (clean.outdated, clean.edited, clean.missing, clean.error) == (False, [], [], "")
    assert check_drift(existing_workspace("team/edited-dev")).edited == [str(DEVCONTAINER)]

    # A commit that does not touch the template is not a template change...
    (template_repo / "NOTES.md").write_text("unrelated\n")
    commit_all(template_repo, "docs only", "v1.1")
    drift = check_drift(existing_workspace("team/clean-dev"))
    assert (drift.current, drift.latest, drift.outdated) == ("v1", "v1.1", False)
    # ...a template change is.
    edit_file(template_repo / TEMPLATE_DC, '"redhat.vscode-yaml"]', '"redhat.vscode-yaml", "x.y"]')
    commit_all(template_repo, "template v2", "v2")
    result = cli("outdated")
    assert result.returncode == 0, result.stderr
    assert "v2" in result.stdout and "yes" in result.stdout
    assert check_drift(existing_workspace("team/clean-dev"), edits=False).outdated is True


def test_outdated_via_copier_check_update_for_non_local_sources(
    template_repo: Path, nexus: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("COLTEC_TEMPLATE", f"git+file://{template_repo}")
    assert new_workspace("team/remote-dev", [], defaults=True).validation.ok
    edit_file(template_repo / TEMPLATE_DC, '"redhat.vscode-yaml"]', '"redhat.vscode-yaml", "x.y"]')
    commit_all(template_repo, "template v2", "v2")
    drift = check_drift(existing_workspace("team/remote-dev"), edits=False)
    assert drift.error == ""
    assert drift.outdated is True and drift.template_changed is None
    assert drift.latest == "2"  # copier's PEP 440 version of tag v2


def _hand_made(nexus: Path, template_repo: Path) -> Path:
    """A workspace rendered, then de-templated and hand-edited, as people do."""
    assert new_workspace(
        "team/hand-dev",
        [
            "project_type=rust",
            "networking_enabled=true",
            'network_tags=["tag:dev"]',
            "sync_interval=600",
            "extra_excludes=data/**",
            "description=made by hand",
            "run_args=--init",
        ],
        defaults=True,
    ).validation.ok
    ws = nexus / "codespaces" / "team" / "hand-dev"
    (ws / ".copier-answers.yml").unlink()
    # The declaration rewritten by a tool (same content, other layout), and a
    # setting of the user's own in devcontainer.json.
    spec = yaml.safe_load((ws / SPEC).read_text())
    (ws / SPEC).write_text(yaml.safe_dump(spec, sort_keys=True, width=60))
    edit_file(ws / DEVCONTAINER, '"remoteUser"', '"hostRequirements": {"cpus": 2},\n  "remoteUser"')
    return ws


def test_adopt_shows_a_diff_and_writes_only_with_apply(template_repo: Path, nexus: Path, cli: Cli):
    ws = _hand_made(nexus, template_repo)
    before = {p: p.read_bytes() for p in ws.rglob("*") if p.is_file()}

    shown = cli("adopt", str(ws))
    assert shown.returncode == 0, shown.stderr
    assert "project_type: rust" in shown.stdout and "--apply" in shown.stdout
    assert "+++ b/.devcontainer/devcontainer.json" in shown.stdout
    assert '-  "hostRequirements": {"cpus": 2},' in shown.stdout
    assert {p: p.read_bytes() for p in ws.rglob("*") if p.is_file()} == before

    applied = adopt(ws, apply=True)
    assert applied.applied
    assert applied.changed_files == [".devcontainer/devcontainer.json", str(SPEC)]
    answers = yaml.safe_load((ws / ".copier-answers.yml").read_text())
    assert answers["_commit"] == "v1"
    assert (answers["project_type"], answers["sync_interval"]) == ("rust", 600)
    assert answers["extra_excludes"] == ["data/**"] and answers["network_tags"] == ["tag:dev"]
    assert answers["run_args"] == ["--init"]
    with pytest.raises(UsageError, match="already under the template"):
        adopt(ws)


def test_adopt_round_trip(template_repo: Path, nexus: Path):
    """adopt, update to v2, and the declaration is the one the user had."""
    ws = _hand_made(nexus, template_repo)
    original_spec = yaml.safe_load((ws / SPEC).read_text())
    adopt(ws, apply=True)
    commit_all(nexus, "adopted")
    edit_file(
        template_repo / TEMPLATE_DC,
        '"postStartCommand"',
        '"postAttachCommand": "true",\n  "postStartCommand"',
    )
    commit_all(template_repo, "template v2", "v2")

    result = update_workspace(existing_workspace("team/hand-dev"))

    assert result.outcome == "updated", result
    assert yaml.safe_load((ws / SPEC).read_text()) == original_spec
    config = json.loads((ws / DEVCONTAINER).read_text())
    assert config["hostRequirements"] == {"cpus": 2}  # the user's own setting survives
    assert config["postAttachCommand"] == "true"  # and the template change arrives


def test_adopt_refuses_an_invalid_declaration(tmp_path: Path, template_repo: Path):
    ws = tmp_path / "bad"
    (ws / ".devcontainer").mkdir(parents=True)
    (ws / SPEC).write_text("name: Bad Name\nmetadata: {org: a, project: b}\n")
    with pytest.raises(UsageError, match="not valid"):
        adopt(ws)
    shutil.rmtree(ws)
