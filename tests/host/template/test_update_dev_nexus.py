"""`./dev demo` and `./dev run cs:update|cs:outdated` on a clone made as the README makes one.

Every command goes through `./dev` in the clone (its own mise, tasks.py and coltec; the
environment of this checkout is lent to it by symlinks): the default template source
recorded relative to each workspace, the demo's git-ignored workspace, commits that do
not touch the template, and template changes. "Nothing lost" is checked by the sha256
of every file before and after.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any

from tests.host.template.conftest import REPO_ROOT, commit_all, edit_file, git, make_template_repo
from tests.host.template.readme_nexus import make_nexus, nexus_env

DEMO = "demo/sample-dev"
README_TEMPLATE = Path("template") / "README-coltec-workspace.md.jinja"


def dev_nexus(dst: Path) -> Path:
    """A clone with this checkout's .venv and node_modules lent to it (what `./dev setup` makes)."""
    nexus = make_nexus(dst)
    for name in (".venv", "node_modules"):
        (nexus / name).symlink_to(REPO_ROOT / name)
    with (nexus / ".git" / "info" / "exclude").open("a", encoding="utf-8") as fh:
        fh.write("/.venv\n/node_modules\n")  # symlinks: `.venv/` in .gitignore is for folders
    return nexus


def dev(
    nexus: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`./dev ARGS...` in the clone, as a user types it."""
    base = {k: v for k, v in nexus_env(nexus).items() if not k.startswith("MISE_")}
    return subprocess.run(
        ["./dev", *args],
        cwd=nexus,
        env={**base, **(env or {})},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
        check=False,
    )


def dev_json(nexus: Path, task: str, *args: str, env: dict[str, str] | None = None) -> Any:
    result = dev(nexus, "run", f"cs:{task}", *args, "--json", env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def sha256s(folder: Path) -> dict[str, str]:
    """Every file below `folder` (worker state, the demo's work) by its sha256."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def outcomes(nexus: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, str]:
    """{workspace: cs:update outcome}, checked against what cs:outdated said just before."""
    drifts = {d["workspace"]: d for d in dev_json(nexus, "outdated", "--no-edits", env=env)}
    results = {r["workspace"]: r for r in dev_json(nexus, "update", "--all", *args, env=env)}
    assert set(drifts) == set(results)
    for key, result in results.items():
        assert drifts[key]["error"] == "", drifts[key]
        assert drifts[key]["outdated"] == (result["outcome"] != "current"), (drifts[key], result)
    return {key: r["outcome"] for key, r in results.items()}


def template_change(repo: Path, line: str) -> None:
    edit_file(repo / README_TEMPLATE, "\n", f"\n{line}\n")
    git(repo, "add", "--", str(README_TEMPLATE))
    git(repo, "commit", "-q", "--no-gpg-sign", "-m", f"template: {line}")


def docs_commit(nexus: Path) -> None:
    """A commit of a docs file and nothing else (a workspace left untracked stays so)."""
    (nexus / "docs" / "team-notes.md").write_text("how we work\n", encoding="utf-8")
    git(nexus, "add", "--", "docs/team-notes.md")
    git(nexus, "commit", "-q", "--no-gpg-sign", "-m", "docs only")


def test_demo_workspace_survives_update_and_demo_refreshes_it(tmp_path: Path) -> None:
    nexus = dev_nexus(tmp_path / "nexus")
    first = dev(nexus, "demo")
    assert first.returncode == 0, first.stdout + first.stderr
    ws = nexus / "codespaces" / "demo" / "sample-dev"
    assert git(nexus, "status", "--porcelain") == ""  # ignored by codespaces/.gitignore
    docs_commit(nexus)
    before = sha256s(ws)

    # The reproduction: a commit, then cs:update of the demo's workspace.
    updated = dev(nexus, "run", "cs:update", DEMO)
    assert updated.returncode == 0, updated.stdout + updated.stderr
    assert "current" in updated.stdout
    assert sha256s(ws) == before

    # A template change: still untouched, and the hint names the demo, not `git add`.
    template_change(nexus, "Template change one.")
    (result,) = dev_json(nexus, "update", DEMO)
    assert result["outcome"] == "skipped", result
    assert result["reason"].startswith("not tracked by git"), result
    assert "`./dev demo`" in result["reason"] and "git -C" not in result["reason"], result
    (dry,) = dev_json(nexus, "update", DEMO, "--dry-run")
    assert dry["outcome"] == "skipped", dry
    assert sha256s(ws) == before

    # The hint: the demo again refreshes its own sample, keeping its work and state.
    again = dev(nexus, "demo")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "refreshed" in again.stdout, again.stdout
    after = sha256s(ws)
    readme = (ws / "README-coltec-workspace.md").read_text(encoding="utf-8")
    assert "Template change one." in readme
    assert after["hello.txt"] == before["hello.txt"]
    assert {k for k in before if k.startswith(".coltec/state/")} <= set(after)
    assert outcomes(nexus) == {DEMO: "current"}
    assert "(outdated)" not in again.stdout

    # A third run with nothing new changes no template file.
    settled = sha256s(ws)
    third = dev(nexus, "demo")
    assert third.returncode == 0 and "refreshed" not in third.stdout, third.stdout
    for rel in (
        "README-coltec-workspace.md",
        ".copier-answers.yml",
        ".devcontainer/devcontainer.json",
    ):
        assert sha256s(ws)[rel] == settled[rel]


def test_demo_keeps_a_hand_edited_sample(tmp_path: Path) -> None:
    nexus = dev_nexus(tmp_path / "nexus")
    assert dev(nexus, "demo").returncode == 0
    ws = nexus / "codespaces" / "demo" / "sample-dev"
    edit_file(ws / "README-coltec-workspace.md", "\n", "\nmy notes\n")
    template_change(nexus, "Template change two.")
    before = sha256s(ws)
    again = dev(nexus, "demo")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "never overwritten" in again.stdout, again.stdout
    after = sha256s(ws)
    assert {k: after[k] for k in before if not k.startswith((".coltec/", "hello.txt"))} == {
        k: v for k, v in before.items() if not k.startswith((".coltec/", "hello.txt"))
    }


def test_untracked_workspace_skipped_then_docs_commit_current(tmp_path: Path) -> None:
    nexus = dev_nexus(tmp_path / "nexus")
    assert dev(nexus, "run", "cs:new", "acme/api-dev", "--defaults").returncode == 0
    ws = nexus / "codespaces" / "acme" / "api-dev"
    (ws / "notes.txt").write_text("mine\n", encoding="utf-8")
    docs_commit(nexus)  # the workspace itself stays untracked
    before = sha256s(nexus / "codespaces")
    assert outcomes(nexus) == {"acme/api-dev": "current"}
    template_change(nexus, "A template change.")
    (result,) = dev_json(nexus, "update", "acme/api-dev")
    assert result["outcome"] == "skipped", result
    # Untracked, not ignored: the workspace's own `!/...` lines are no ignore rule.
    assert result["reason"].startswith("not tracked by git ("), result["reason"]
    assert "file(s)):" in result["reason"] and "ignored by" not in result["reason"], result
    assert sha256s(nexus / "codespaces") == before
    dry = dev(nexus, "run", "cs:update", "--all", "--dry-run")
    assert dry.returncode == 0, dry.stdout + dry.stderr  # skipped is no failure
    assert sha256s(nexus / "codespaces") == before


def test_a_template_repository_without_tags_and_with_uncommitted_edits(tmp_path: Path) -> None:
    """HEAD of a dirty template: the update records a commit the next update can find."""
    nexus = dev_nexus(tmp_path / "nexus")
    other = make_template_repo(tmp_path / "template")
    git(other, "tag", "-d", "v1")
    own = {"COLTEC_TEMPLATE": str(other)}
    assert dev(nexus, "run", "cs:new", "acme/sep-dev", "--defaults", env=own).returncode == 0
    commit_all(nexus, "a workspace")
    template_change(other, "Second version.")
    (other / "scratch.txt").write_text("not committed\n", encoding="utf-8")  # a dirty template
    before = sha256s(nexus / "codespaces")
    (dry,) = dev_json(nexus, "update", "acme/sep-dev", "--dry-run", env=own)
    assert dry["outcome"] == "updated", dry
    assert sha256s(nexus / "codespaces") == before
    (real,) = dev_json(nexus, "update", "acme/sep-dev", env=own)
    assert real["outcome"] == "updated" and real["files"] == dry["files"], (dry, real)
    commit_all(nexus, "updated")
    head = git(other, "rev-parse", "HEAD").strip()
    assert head.startswith(real["to"]), real  # a commit of the template, not copier's own
    assert outcomes(nexus, env=own) == {"acme/sep-dev": "current"}
    assert os.path.exists(other / "scratch.txt")


def test_answers_copier_drops_are_no_hand_edits(tmp_path: Path) -> None:
    """--data for a question whose `when:` is false: copier records no answer for it."""
    nexus = dev_nexus(tmp_path / "nexus")
    data = ["persistence_enabled=false", "sync_interval=120", "network_tags=[tag:x]"]
    argv = [a for item in data for a in ("--data", item)]
    created = dev(nexus, "run", "cs:new", "acme/quiet-dev", "--defaults", *argv)
    assert created.returncode == 0, created.stdout + created.stderr
    commit_all(nexus, "a workspace")
    (drift,) = dev_json(nexus, "outdated")
    assert (drift["edited"], drift["missing"], drift["error"]) == ([], [], ""), drift
    before = sha256s(nexus / "codespaces")
    assert outcomes(nexus) == {"acme/quiet-dev": "current"}
    assert sha256s(nexus / "codespaces") == before
