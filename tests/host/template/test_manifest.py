"""The render manifest (.coltec-rendered.json): cs:outdated's hand-edit check from file
hashes, with the same verdicts as a fresh render, and never fooled by a manifest that lies."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from coltec.template import manifest, rendering
from coltec.template.adopt import adopt
from coltec.template.create import new_workspace
from coltec.template.outdated import check_drift, hand_edits, rendered_edits
from coltec.template.update import update_workspace
from coltec.workspaces import existing_workspace
from tests.host.template.conftest import commit_all, edit_file, git

DEVCONTAINER = ".devcontainer/devcontainer.json"
SPEC = ".devcontainer/workspace-spec.yaml"
EXTRA_SETTING = '"shutdownAction": "none",\n  "workspaceFolder"'
TEMPLATE_DC = Path("template") / ".devcontainer" / "devcontainer.json.jinja"


def _verdicts(ws_dir: Path) -> tuple[tuple[list[str], list[str]], tuple[list[str], list[str]]]:
    """(through the manifest when it is believed, through a fresh render)."""
    answers = rendering.read_answers(ws_dir)
    return hand_edits(ws_dir, answers), rendered_edits(ws_dir, answers)


def _new(key: str) -> Path:
    assert new_workspace(key, [], defaults=True).validation.ok
    return existing_workspace(key).dir


def test_cs_new_records_the_render_and_git_keeps_it(template_repo: Path, nexus: Path):
    ws = _new("team/api-dev")
    answers = rendering.read_answers(ws)
    recorded = manifest.load(ws, answers)
    assert recorded is not None, "cs:new wrote no manifest that describes its render"
    assert DEVCONTAINER in recorded and SPEC in recorded
    assert rendering.ANSWERS_FILE not in recorded
    commit_all(nexus, "a workspace")
    tracked = git(nexus, "ls-files", "codespaces/team/api-dev").split()
    assert f"codespaces/team/api-dev/{manifest.MANIFEST_FILE}" in tracked
    assert git(nexus, "status", "--porcelain") == ""


def test_manifest_verdicts_equal_a_fresh_render(template_repo: Path, nexus: Path):
    clean, edited, deleted = (_new(f"team/{n}-dev") for n in ("clean", "edited", "deleted"))
    edit_file(edited / DEVCONTAINER, '"workspaceFolder"', EXTRA_SETTING)
    (deleted / SPEC).unlink()
    commit_all(nexus, "three workspaces")
    expected = {
        clean: ([], []),
        edited: ([DEVCONTAINER], []),
        deleted: ([], [SPEC]),
    }
    for ws, verdict in expected.items():
        assert manifest.load(ws, rendering.read_answers(ws)) is not None
        via_manifest, via_render = _verdicts(ws)
        assert via_manifest == via_render == verdict, ws.name
        drift = check_drift(existing_workspace(f"team/{ws.name}"))
        assert (drift.edited, drift.missing, drift.error) == (*verdict, "")


def test_a_manifest_that_lies_never_hides_an_edit(template_repo: Path, nexus: Path):
    ws, other = _new("team/api-dev"), _new("team/web-dev")
    edit_file(ws / DEVCONTAINER, '"workspaceFolder"', EXTRA_SETTING)
    path = ws / manifest.MANIFEST_FILE
    honest = path.read_text(encoding="utf-8")
    edited_hash = manifest.file_hash((ws / DEVCONTAINER).read_bytes())

    def reported() -> list[str]:
        return check_drift(existing_workspace("team/api-dev")).edited

    # Hand-edited: the edited file's hash written in, the seal left as it was.
    data = json.loads(honest)
    data["files"][DEVCONTAINER] = edited_hash
    path.write_text(json.dumps(data), encoding="utf-8")
    assert reported() == [DEVCONTAINER]
    # The file left out of the manifest.
    data = json.loads(honest)
    del data["files"][DEVCONTAINER]
    path.write_text(json.dumps(data), encoding="utf-8")
    assert reported() == [DEVCONTAINER]
    # Deleted, truncated, not JSON, not a file.
    path.unlink()
    assert reported() == [DEVCONTAINER]
    path.write_text(honest[:40], encoding="utf-8")
    assert reported() == [DEVCONTAINER]
    path.write_bytes(b"\xff\xfe not json")
    assert reported() == [DEVCONTAINER]
    path.unlink()
    path.mkdir()
    assert reported() == [DEVCONTAINER]
    path.rmdir()
    # Another workspace's manifest (other answers), and one of another template version.
    shutil.copy(other / manifest.MANIFEST_FILE, path)
    assert reported() == [DEVCONTAINER]
    answers = rendering.read_answers(ws)
    manifest.write(ws, {**answers, "_commit": "v0"}, rendering.rendered_files(other))
    assert reported() == [DEVCONTAINER]
    # The honest one still tells the truth.
    path.write_text(honest, encoding="utf-8")
    assert reported() == [DEVCONTAINER]


def test_answers_edited_by_hand_fall_back_to_a_render(template_repo: Path, nexus: Path):
    ws = _new("team/api-dev")
    edit_file(ws / rendering.ANSWERS_FILE, "description: ", "description: changed by hand ")
    assert manifest.load(ws, rendering.read_answers(ws)) is None
    via_manifest, via_render = _verdicts(ws)
    assert via_manifest == via_render
    assert via_render[0], "a changed answer renders other files than the ones on disk"


def test_cs_update_keeps_the_manifest_true(template_repo: Path, nexus: Path):
    clean, edited = _new("team/clean-dev"), _new("team/edited-dev")
    edit_file(edited / SPEC, "version:", "# mine\nversion:")
    commit_all(nexus, "two workspaces")
    edit_file(template_repo / TEMPLATE_DC, '"redhat.vscode-yaml"]', '"redhat.vscode-yaml", "x.y"]')
    commit_all(template_repo, "template v2", "v2")

    assert update_workspace(existing_workspace("team/clean-dev")).outcome == "updated"
    answers = rendering.read_answers(clean)
    assert answers["_commit"] == "v2"
    assert manifest.load(clean, answers) is not None, "the clean update recorded no manifest"
    assert _verdicts(clean) == (([], []), ([], []))

    assert update_workspace(existing_workspace("team/edited-dev")).outcome == "updated"
    answers = rendering.read_answers(edited)
    assert manifest.load(edited, answers) is None  # not exactly a render: nothing recorded
    assert _verdicts(edited) == (([SPEC], []), ([SPEC], []))


def test_cs_adopt_records_the_template_render_not_the_kept_files(template_repo: Path, nexus: Path):
    ws = _new("team/hand-dev")
    (ws / rendering.ANSWERS_FILE).unlink()
    (ws / manifest.MANIFEST_FILE).unlink()
    readme = ws / "README-coltec-workspace.md"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nOur own notes.\n", encoding="utf-8")
    result = adopt(ws, apply=True)
    assert result.applied
    answers = rendering.read_answers(ws)
    assert manifest.load(ws, answers) is not None
    via_manifest, via_render = _verdicts(ws)
    assert via_manifest == via_render
    assert "README-coltec-workspace.md" in via_render[0]


def test_no_manifest_from_a_template_with_uncommitted_changes(template_repo: Path, nexus: Path):
    # Without a tag copier renders HEAD, dirty changes included, and records a commit
    # of its own scratch copy: no hashes are kept for a render nobody can repeat, and
    # the check says it cannot tell (it never reports such a workspace clean).
    git(template_repo, "tag", "-d", "v1")
    edit_file(template_repo / TEMPLATE_DC, '"redhat.vscode-yaml"]', '"redhat.vscode-yaml", "x.y"]')
    ws = _new("team/dirty-dev")
    assert not (ws / manifest.MANIFEST_FILE).exists()
    drift = check_drift(existing_workspace("team/dirty-dev"))
    assert drift.error and (drift.edited, drift.missing) == ([], [])
