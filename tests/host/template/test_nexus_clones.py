"""A nexus is cloned by every teammate: workspaces made in one clone update in another."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.host.template.conftest import REPO_ROOT, commit_all, edit_file, git

NEXUS_PARTS = ("coltec", "worker/coltec_worker", "schema", "policy", "template", "base-image")
NEXUS_FILES = ("copier.yaml", "tasks.py", "pyproject.toml")


def _nexus_copy(dst: Path) -> Path:
    """This checkout's code and template as a fresh git repository (no codespaces yet)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for part in NEXUS_PARTS:
        shutil.copytree(REPO_ROOT / part, dst / part, ignore=ignore)
    for name in NEXUS_FILES:
        shutil.copy(REPO_ROOT / name, dst / name)
    git(dst, "init", "-q", "-b", "main")
    commit_all(dst, "nexus")
    return dst


def _in_nexus(nexus: Path, code: str) -> str:
    """Run `code` with the nexus's own coltec (as its tasks would), return stdout."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLTEC_CODESPACES_DIR",)}
    env["PYTHONPATH"] = f"{nexus}{os.pathsep}{nexus / 'worker'}"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=nexus, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_a_workspace_made_in_one_clone_updates_in_another(tmp_path: Path) -> None:
    first = _nexus_copy(tmp_path / "alice" / "nexus")
    _in_nexus(
        first,
        "from coltec.template.create import new_workspace;"
        "assert new_workspace('acme/api-dev', [], defaults=True).validation.ok",
    )
    commit_all(first, "acme/api-dev")
    second = tmp_path / "bob" / "src" / "team-nexus"
    second.parent.mkdir(parents=True)
    git(tmp_path, "clone", "-q", str(first), str(second))
    shutil.rmtree(first)  # Alice's clone is gone: nothing may still point at it

    readme = "template/README-coltec-workspace.md.jinja"
    edit_file(second / readme, "\n", "\nUpdated by the template in Bob's clone.\n")
    commit_all(second, "template change")
    out = _in_nexus(
        second,
        "import json; from coltec.template.update import update_workspace;"
        "from coltec.workspaces import existing_workspace;"
        "print(json.dumps(update_workspace(existing_workspace('acme/api-dev')).to_dict()))",
    )
    result = json.loads(out)
    assert result["outcome"] == "updated", result
    ws = second / "codespaces" / "acme" / "api-dev"
    rendered = (ws / "README-coltec-workspace.md").read_text()
    assert "Updated by the template in Bob's clone." in rendered


def test_outdated_reports_no_false_hand_edits_on_the_default_paths(tmp_path: Path) -> None:
    """Template = the nexus itself, workspaces under its codespaces/ (what `./dev demo` does)."""
    nexus = _nexus_copy(tmp_path / "nexus")
    out = _in_nexus(
        nexus,
        "import json; from coltec.template.create import new_workspace;"
        "from coltec.template.outdated import check_drift;"
        "from coltec.workspaces import existing_workspace;"
        "assert new_workspace('acme/api-dev', ['project_type=python'], defaults=True)"
        ".validation.ok;"
        "print(json.dumps(check_drift(existing_workspace('acme/api-dev')).to_dict()))",
    )
    drift = json.loads(out)
    assert (drift["edited"], drift["missing"], drift["error"]) == ([], [], ""), drift
    # A real edit is still found, and only that one.
    ws = nexus / "codespaces" / "acme" / "api-dev"
    edit_file(ws / ".devcontainer" / "devcontainer.json", '"remoteUser"', '"x": 1,\n  "remoteUser"')
    out = _in_nexus(
        nexus,
        "import json; from coltec.template.outdated import check_drift;"
        "from coltec.workspaces import existing_workspace;"
        "print(json.dumps(check_drift(existing_workspace('acme/api-dev')).edited))",
    )
    assert json.loads(out) == [".devcontainer/devcontainer.json"]


def test_outdated_reports_no_false_hand_edits_on_an_external_nexus(tmp_path: Path) -> None:
    """Template = this nexus's code; workspaces in another repository (COLTEC_CODESPACES_DIR)."""
    nexus = _nexus_copy(tmp_path / "nexus")
    other = tmp_path / "team-workspaces"
    (other / "codespaces").mkdir(parents=True)
    git(other, "init", "-q", "-b", "main")
    code = (
        f"import json, os; os.environ['COLTEC_CODESPACES_DIR'] = {str(other / 'codespaces')!r};"
        "from coltec.template.create import new_workspace;"
        "from coltec.template.outdated import check_drift;"
        "from coltec.workspaces import existing_workspace;"
        "assert new_workspace('acme/web-dev', [], defaults=True).validation.ok;"
        "print(json.dumps(check_drift(existing_workspace('acme/web-dev')).to_dict()))"
    )
    drift = json.loads(_in_nexus(nexus, code))
    assert (drift["edited"], drift["missing"], drift["error"]) == ([], [], ""), drift
