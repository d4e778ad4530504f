"""cs:update and cs:outdated on a nexus made the way the README makes one.

A clone of the repository, the default (relative) template source, the demo's
git-ignored workspace, and nexus commits that do not touch the template. Files are
compared by content before and after every command that must not change them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.host.template.conftest import commit_all, edit_file, git, make_template_repo
from tests.host.template.readme_nexus import (
    agreed_update,
    make_nexus,
    run,
    run_json,
    snapshot,
)

DEMO = "demo/sample-dev"
README_TEMPLATE = Path("template") / "README-coltec-workspace.md.jinja"


def template_change(repo: Path, line: str) -> None:
    """A commit of the template and nothing else (the workspaces stay as they are in git)."""
    edit_file(repo / README_TEMPLATE, "\n", f"\n{line}\n")
    git(repo, "add", "--", str(README_TEMPLATE))
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", f"template: {line}")


def unrelated_commits(nexus: Path) -> None:
    """What a team commits between template changes: docs, and a new workspace."""
    (nexus / "docs" / "team-notes.md").write_text("how we work\n", encoding="utf-8")
    commit_all(nexus, "docs")
    created = run(nexus, "new", "team/extra-dev", "--defaults")
    assert created.returncode == 0, created.stderr
    commit_all(nexus, "team/extra-dev")


def _outcomes(results: dict[str, Any]) -> dict[str, str]:
    return {key: r["outcome"] for key, r in results.items()}


def test_the_demos_ignored_workspace_is_never_touched(tmp_path: Path) -> None:
    nexus = make_nexus(tmp_path / "nexus")
    demo = run(nexus, "demo")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    ws = nexus / "codespaces" / "demo" / "sample-dev"
    assert git(nexus, "status", "--porcelain") == ""  # the demo's workspace is ignored
    unrelated_commits(nexus)
    before = snapshot(ws)

    # Nothing in the template changed: current, and not one byte written.
    assert _outcomes(agreed_update(nexus)) == {DEMO: "current", "team/extra-dev": "current"}
    assert snapshot(ws) == before and git(nexus, "status", "--porcelain") == ""

    # The template changed: git could not restore the demo's files, so they are left alone.
    template_change(nexus, "Template change one.")
    dry = agreed_update(nexus, "--dry-run")
    assert _outcomes(dry) == {DEMO: "skipped", "team/extra-dev": "updated"}
    (real,) = run_json(nexus, "update", DEMO)
    for result in (dry[DEMO], real):
        assert result["reason"].startswith("not tracked by git"), result
    assert snapshot(ws) == before

    # The hint names the demo for its own sample; tracked anyway, it updates, keeping the work.
    assert "`./dev demo`" in real["reason"], real
    git(nexus, "add", "-f", "--", *(f"codespaces/{DEMO}/{f}" for f in real["files"]))
    commit_all(nexus, "track the demo's workspace")
    assert _outcomes(agreed_update(nexus)) == {DEMO: "updated", "team/extra-dev": "updated"}
    after = snapshot(ws)
    assert b"Template change one." in after["README-coltec-workspace.md"]
    kept = {k: v for k, v in before.items() if k == "hello.txt" or k.startswith(".coltec/")}
    assert {k: after.get(k) for k in kept} == kept  # the work and the worker's state
    commit_all(nexus, "updated")
    assert set(_outcomes(agreed_update(nexus)).values()) == {"current"}


def test_a_workspace_never_committed_is_skipped_untouched(tmp_path: Path) -> None:
    nexus = make_nexus(tmp_path / "nexus")
    assert run(nexus, "new", "acme/api-dev", "--defaults").returncode == 0
    ws = nexus / "codespaces" / "acme" / "api-dev"
    (ws / "notes.txt").write_text("mine\n", encoding="utf-8")
    template_change(nexus, "A template change.")  # the workspace stays untracked
    before = snapshot(ws)
    result = agreed_update(nexus)["acme/api-dev"]
    assert result["outcome"] == "skipped" and result["reason"].startswith("not tracked by git")
    assert snapshot(ws) == before


def test_update_settles_after_commits_that_do_not_touch_the_template(tmp_path: Path) -> None:
    nexus = make_nexus(tmp_path / "nexus")
    for key in ("acme/api-dev", "beta/data-dev"):
        assert run(nexus, "new", key, "--defaults").returncode == 0
    commit_all(nexus, "two workspaces")
    unrelated_commits(nexus)
    workspaces = nexus / "codespaces"
    before = snapshot(workspaces)
    assert set(_outcomes(agreed_update(nexus)).values()) == {"current"}
    assert snapshot(workspaces) == before and git(nexus, "status", "--porcelain") == ""

    template_change(nexus, "A real template change.")
    assert set(_outcomes(agreed_update(nexus)).values()) == {"updated"}
    commit_all(nexus, "updated")
    commit_all(nexus, "and an empty commit on top")
    before = snapshot(workspaces)
    assert set(_outcomes(agreed_update(nexus)).values()) == {"current"}  # no _commit churn
    assert snapshot(workspaces) == before


def test_an_included_file_is_a_template_input(tmp_path: Path) -> None:
    """copier.yaml includes base-image/IMAGE: a change there is a template change."""
    nexus = make_nexus(tmp_path / "nexus")
    assert run(nexus, "new", "acme/api-dev", "--defaults").returncode == 0
    commit_all(nexus, "a workspace")
    (nexus / "base-image" / "IMAGE").write_text("ghcr.io/acme/base:2\n", encoding="utf-8")
    commit_all(nexus, "a new base image tag")
    assert _outcomes(agreed_update(nexus, "--dry-run")) == {"acme/api-dev": "updated"}


def _answers(ws: Path) -> dict[str, object]:
    data = yaml.safe_load((ws / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _dry_run_predicts_and_touches_nothing(nexus: Path, key: str) -> None:
    ws = nexus / "codespaces" / key
    before = snapshot(nexus / "codespaces")
    dry = run_json(nexus, "update", key, "--dry-run")[0]
    assert (dry["outcome"], dry["dry_run"]) == ("updated", True), dry
    assert snapshot(nexus / "codespaces") == before and git(nexus, "status", "--porcelain") == ""
    real = run_json(nexus, "update", key)[0]
    assert real["outcome"] == "updated" and real["files"] == dry["files"], (dry, real)
    assert b"Second version." in (ws / "README-coltec-workspace.md").read_bytes()
    commit_all(nexus, f"update {key}")


def test_dry_run_with_every_kind_of_template_source(tmp_path: Path) -> None:
    nexus = make_nexus(tmp_path / "nexus")
    # The default: this nexus, recorded relative to the workspace.
    assert run(nexus, "new", "acme/rel-dev", "--defaults").returncode == 0
    assert not str(_answers(nexus / "codespaces" / "acme" / "rel-dev")["_src_path"]).startswith("/")
    # The same nexus recorded by its absolute path.
    assert run(nexus, "new", "acme/abs-dev", "--defaults").returncode == 0
    answers = nexus / "codespaces" / "acme" / "abs-dev" / ".copier-answers.yml"
    text = answers.read_text(encoding="utf-8")
    relative = str(_answers(answers.parent)["_src_path"])
    answers.write_text(text.replace(relative, str(nexus), 1), encoding="utf-8")
    # A template repository of its own, tagged.
    other = make_template_repo(tmp_path / "template")
    own = {"COLTEC_TEMPLATE": str(other)}
    assert run(nexus, "new", "acme/sep-dev", "--defaults", env=own).returncode == 0
    commit_all(nexus, "three workspaces")

    template_change(nexus, "Second version.")
    template_change(other, "Second version.")
    git(other, "tag", "v2")
    for key in ("acme/rel-dev", "acme/abs-dev", "acme/sep-dev"):
        _dry_run_predicts_and_touches_nothing(nexus, key)
    assert set(_outcomes(agreed_update(nexus)).values()) == {"current"}
