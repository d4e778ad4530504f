"""A nexus made the way the README makes one, and its commands run the way mise runs them.

The nexus is this checkout's files (what a clone holds: tracked and new files, nothing
git ignores) in a fresh git repository: the default template source (recorded relative
to each workspace), `codespaces/.gitignore` hiding the demo's workspace, and the
nexus's own tasks.py and coltec run as `python tasks.py TASK ...` from its root.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.host.template.conftest import REPO_ROOT, commit_all, git


def make_nexus(dst: Path) -> Path:
    """A clone of this checkout (its working tree, so uncommitted work is what is tested)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for rel in filter(None, listed.split("\0")):
        source = REPO_ROOT / rel
        if (rel.startswith("codespaces/") and rel.count("/") > 1) or not source.is_file():
            continue  # a workspace of this checkout is not part of a fresh clone
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, dst / rel)
    git(dst, "init", "-q", "-b", "main")
    commit_all(dst, "a clone of coltec-codespaces")
    return dst


def nexus_env(nexus: Path) -> dict[str, str]:
    """The user's environment: no template or folder overrides, a home of its own."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COLTEC_", "RCLONE_")) and k not in ("XDG_DATA_HOME",)
    }
    home = nexus.parent / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), XDG_DATA_HOME=str(home / ".local" / "share"))
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run(
    nexus: Path, task: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`mise run cs:TASK ARGS` as mise runs it: `python tasks.py TASK ARGS` in the nexus."""
    return subprocess.run(
        [sys.executable, str(nexus / "tasks.py"), task, *args],
        cwd=nexus,
        env={**nexus_env(nexus), **(env or {})},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )


def run_json(nexus: Path, task: str, *args: str, env: dict[str, str] | None = None) -> Any:
    result = run(nexus, task, *args, "--json", env=env)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` with its contents (the worker's state included)."""
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def agreed_update(nexus: Path, *args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """`cs:update --all ARGS --json`, checked against what `cs:outdated` said just before.

    On every workspace: outdated (there is a newer template) <=> the update's outcome
    is not `current`. Returns {workspace: result}.
    """
    drifts = {d["workspace"]: d for d in run_json(nexus, "outdated", "--no-edits", env=env)}
    results = {r["workspace"]: r for r in run_json(nexus, "update", "--all", *args, env=env)}
    assert set(drifts) == set(results)
    for key, result in results.items():
        assert drifts[key]["error"] == "", drifts[key]
        assert drifts[key]["outdated"] == (result["outcome"] != "current"), (drifts[key], result)
    return results


def run_hint(nexus: Path, reason: str) -> None:
    """Run the `git ...` command a reason names (between backticks)."""
    command = next(part for part in reason.split("`")[1::2] if part.startswith("git "))
    result = subprocess.run(shlex.split(command), cwd=nexus, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
