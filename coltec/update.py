"""`cs:update`: copier update of one workspace, with an outcome that never hides conflicts.

Outcomes: updated (files changed), current (nothing to change), conflicts (files
listed; copier itself exits 0 then), skipped (why: not in git, uncommitted
changes, no answers file), failed (copier or git refused). A dry run performs the
same update on a scratch copy of the workspace's tracked files, so it predicts
conflicts exactly and touches nothing.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from . import gitstate, templating
from .errors import ColtecError
from .workspaces import ANSWERS_FILE, Workspace

Outcome = Literal["updated", "current", "conflicts", "skipped", "failed"]


@dataclass
class UpdateResult:
    workspace: str
    outcome: Outcome
    files: list[str] = field(default_factory=list)
    reason: str = ""
    from_version: str = ""
    to_version: str = ""
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return self.outcome not in ("conflicts", "failed")

    def to_dict(self) -> dict[str, object]:
        return {
            "workspace": self.workspace,
            "outcome": self.outcome,
            "files": self.files,
            "reason": self.reason,
            "from": self.from_version,
            "to": self.to_version,
            "dry_run": self.dry_run,
        }


def _run_copier_update(folder: Path, ref: str | None) -> None:
    from copier import run_update

    # The recorded source may be relative to the workspace (templating.copy).
    with templating.copier_errors("updating", folder), contextlib.chdir(folder):
        run_update(
            folder,
            vcs_ref=ref,
            overwrite=True,
            defaults=True,
            skip_answered=True,
            quiet=True,
            conflict="inline",
            skip_tasks=True,
        )


def _apply(
    folder: Path, where: gitstate.GitDir, ref: str | None, result: UpdateResult
) -> UpdateResult:
    with gitstate.unmerged_set_aside(where):  # another workspace's conflict stays its own
        _run_copier_update(folder, ref)
    result.to_version = str(templating.read_answers(folder).get("_commit", ""))
    conflicts = gitstate.conflicted_files(folder, where)
    changed = sorted(rel for _, rel in gitstate.status(where))
    if conflicts:
        result.outcome, result.files = "conflicts", conflicts
        result.reason = "resolve the markers, `git add` the files and commit"
    elif changed:
        result.outcome, result.files = "updated", changed
    else:
        result.outcome = "current"
    return result


def _dry_run(
    ws: Workspace, where: gitstate.GitDir, ref: str | None, result: UpdateResult
) -> UpdateResult:
    with tempfile.TemporaryDirectory(prefix="coltec-update-") as tmp:
        scratch = Path(tmp) / ws.org / ws.name
        for rel in gitstate.tracked_files(where):
            target = scratch / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ws.dir / rel, target)
        templating.pin_source(scratch)
        gitstate.init_repo(Path(tmp))
        scratch_where = gitstate.locate(scratch)
        assert scratch_where is not None  # just initialised
        return _apply(scratch, scratch_where, ref, result)


def update_workspace(ws: Workspace, *, dry_run: bool = False) -> UpdateResult:
    """Bring one workspace to the template's newest version (see module docstring)."""
    result = UpdateResult(ws.key, "skipped", dry_run=dry_run)
    try:
        answers = templating.read_answers(ws.dir)
        if not answers.get("_src_path") or not answers.get("_commit"):
            result.reason = (
                f"no template version in {ANSWERS_FILE}: bring it under the "
                f"template with `mise run cs:adopt {ws.dir}`"
            )
            return result
        result.from_version = str(answers["_commit"])
        where = gitstate.locate(ws.dir)
        if where is None:
            result.reason = (
                "not inside a git repository (copier update merges through git "
                "history): commit the nexus first"
            )
            return result
        dirty = gitstate.status(where)
        if dirty:
            shown = ", ".join(rel for _, rel in dirty[:3]) + (" ..." if len(dirty) > 3 else "")
            result.reason = (
                f"uncommitted changes ({len(dirty)} file(s): {shown}); commit or "
                "stash them first — they are never overwritten"
            )
            result.files = [rel for _, rel in dirty]
            return result
        ref = templating.target_ref(str(answers["_src_path"]))
        if templating.resolved_version(str(answers["_src_path"]), ref) == result.from_version:
            # Same template commit, same answers: copier would change nothing.
            result.outcome, result.to_version = "current", result.from_version
            return result
        if dry_run:
            return _dry_run(ws, where, ref, result)
        return _apply(ws.dir, where, ref, result)
    except ColtecError as exc:
        result.outcome = "failed"
        result.reason = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return result
