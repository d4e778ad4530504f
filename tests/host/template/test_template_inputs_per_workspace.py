"""A template change counts for a workspace only when it touches what that workspace
renders from: its own subdirectory (base template or extension), what its links and
includes name, and copier.yaml. cs:update, cs:outdated and cs:list agree on it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

from coltec.template.create import new_workspace
from tests.host.template.conftest import REPO_ROOT, commit_all, edit_file

Cli = Callable[..., CompletedProcess[str]]
EXTENSION = "coltec-opencode"
EXT_README = Path("extensions") / EXTENSION / "template" / "README-coltec-workspace.md.jinja"
BASE_DC = Path("template") / ".devcontainer" / "devcontainer.json.jinja"


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def _outdated(cli: Cli) -> dict[str, bool]:
    result = cli("outdated", "--no-edits", "--json")
    assert result.returncode == 0, result.stderr
    return {d["workspace"]: d["outdated"] for d in json.loads(result.stdout)}


def _listed(cli: Cli) -> dict[str, bool]:
    result = cli("list", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    rows = rows["workspaces"] if isinstance(rows, dict) else rows
    return {r["workspace"]: r["outdated"] for r in rows}


def _updated(cli: Cli) -> dict[str, str]:
    result = cli("update", "--all", "--json")
    assert result.returncode == 0, result.stderr + result.stdout
    return {d["workspace"]: d["outcome"] for d in json.loads(result.stdout)}


def test_an_extension_change_is_no_template_change_for_the_base(
    template_repo: Path, nexus: Path, cli: Cli
):
    policy = Path(os.environ["COLTEC_POLICY_DIR"])  # the test's own (tests/conftest.py)
    (policy / "orgs").mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "policy" / "orgs" / "coltec.yaml", policy / "orgs" / "coltec.yaml")
    assert new_workspace("coltec/base-dev", [], defaults=True).validation.ok
    assert new_workspace("coltec/ext-dev", [], defaults=True, extension=EXTENSION).validation.ok
    commit_all(nexus, "two workspaces")

    # A commit touching only the extension's own files.
    edit_file(template_repo / EXT_README, "\n", "\nExtension notes, v1.1.\n")
    commit_all(template_repo, "extension docs", "v1.1")
    before = _tree(nexus / "codespaces")
    expected = {"coltec/base-dev": False, "coltec/ext-dev": True}
    assert _outdated(cli) == expected
    assert _listed(cli) == expected
    assert _updated(cli) == {"coltec/base-dev": "current", "coltec/ext-dev": "updated"}
    after = _tree(nexus / "codespaces")
    assert {k: v for k, v in after.items() if k.startswith("coltec/base-dev/")} == {
        k: v for k, v in before.items() if k.startswith("coltec/base-dev/")
    }, "the base workspace was touched by an extension-only change"
    commit_all(nexus, "update")
    assert _updated(cli) == {"coltec/base-dev": "current", "coltec/ext-dev": "current"}

    # A base template file the extension links to counts for both.
    edit_file(template_repo / BASE_DC, '"redhat.vscode-yaml"]', '"redhat.vscode-yaml", "x.y"]')
    commit_all(template_repo, "template v2", "v2")
    expected = {"coltec/base-dev": True, "coltec/ext-dev": True}
    assert _outdated(cli) == expected
    assert _listed(cli) == expected
    assert _updated(cli) == {"coltec/base-dev": "updated", "coltec/ext-dev": "updated"}
    commit_all(nexus, "update 2")
    assert _outdated(cli) == {"coltec/base-dev": False, "coltec/ext-dev": False}
