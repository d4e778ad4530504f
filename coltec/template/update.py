"""`cs:update`: copier update of one workspace, with an outcome that never hides conflicts.

Outcomes: updated (files changed), current (no newer template: the one decision of
coltec.template.versions, the one cs:outdated shows; nothing is touched), conflicts
(files listed; copier itself exits 0 then), skipped (why: not in git, a template file
git does not track, uncommitted changes, no answers file), failed (copier or git
refused). copier update removes or rewrites the files of the old and the new render;
it runs only when git holds every one of them that exists, so anything it changes can
be restored (an ignored or untracked file could not: copier would delete it). A dry
run performs the same update on a scratch copy of the workspace's tracked files, so
it predicts conflicts exactly and touches nothing.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from coltec.errors import ColtecError, UsageError
from coltec.template import gitstate, manifest, rendering
from coltec.template.inputs import rendered_names, template_inputs
from coltec.template.versions import TemplateState
from coltec.template.versions import Versions as Versions  # re-exported for tasks.py
from coltec.workspaces import (
    ANSWERS_FILE,
    DEMO_ORG,
    Workspace,
    all_workspaces,
    codespaces_dir,
    existing_workspace,
)

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

    # The recorded source may be relative to the workspace (rendering.copy).
    with rendering.copier_errors("updating", folder), contextlib.chdir(folder):
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
    result.to_version = str(rendering.read_answers(folder).get("_commit", ""))
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


def _record(
    ws: Workspace, before: dict[str, str] | None, result: UpdateResult, state: TemplateState
) -> None:
    """Keep the manifest true after an update: a workspace that was exactly its old
    render and took the update without conflicts is now exactly the new render."""
    if result.outcome == "current":
        return
    if before is None or result.outcome != "updated" or not manifest.template_clean(state.repo):
        manifest.discard(ws.dir)
        return
    answers = rendering.read_answers(ws.dir)
    names = {*before, *result.files}
    if state.repo is not None and (ins := template_inputs(state.repo, state.latest_sha)):
        # Rendered files git ignores appear in no status: take the render's own names.
        names |= (
            rendered_names(state.repo, state.latest_sha, ins, rendering.user_answers(answers))
            or set()
        )
    manifest.write_from_disk(ws.dir, answers, sorted(names - {manifest.MANIFEST_FILE}))


def _dry_run(
    ws: Workspace, where: gitstate.GitDir, state: TemplateState, src: str, result: UpdateResult
) -> UpdateResult:
    with tempfile.TemporaryDirectory(prefix="coltec-update-") as tmp:
        scratch = Path(tmp) / ws.org / ws.name
        scratch.mkdir(parents=True)
        for rel in gitstate.tracked_files(where):
            target = scratch / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ws.dir / rel, target)
        # A relative source is relative to the real workspace, not to the scratch copy.
        rendering.pin_source(scratch, src)
        gitstate.init_repo(Path(tmp))
        scratch_where = gitstate.locate(scratch)
        assert scratch_where is not None  # just initialised
        return _apply(scratch, scratch_where, state.ref, result)


def _render_names(src: str, ref: str | None, answers: dict[str, Any]) -> set[str]:
    """The files a render of `src` at `ref` with `answers` writes, by rendering it."""
    with tempfile.TemporaryDirectory(prefix="coltec-names-") as tmp:
        rendering.render_answers({**answers, "_src_path": src, "_commit": ref}, Path(tmp))
        return set(rendering.rendered_files(Path(tmp)))


def template_paths(
    state: TemplateState, src: str, answers: dict[str, Any], versions: Versions
) -> set[str]:
    """Every workspace path an update can write or remove: both renders' files."""
    user = rendering.user_answers(answers)
    names: set[str] = {ANSWERS_FILE}
    for sha in (state.current_sha, state.latest_sha) if state.repo else ():
        found = None
        if state.repo and (ins := versions.inputs(state.repo, sha)) is not None:
            found = rendered_names(state.repo, sha, ins, user)
        names |= found if found is not None else _render_names(src, sha, user)
    if state.repo is None:
        names |= _render_names(src, state.current, user) | _render_names(src, state.ref, user)
    return names


def _not_tracked(ws: Workspace, where: gitstate.GitDir, paths: set[str]) -> list[str]:
    """Paths of `paths` that exist in the workspace but git does not track (cannot restore)."""
    tracked = set(gitstate.tracked_files(where))
    return sorted(p for p in paths if p not in tracked and os.path.lexists(ws.dir / p))


def _track_hint(ws: Workspace, where: gitstate.GitDir, files: list[str]) -> str:
    shown = " ".join(shlex.quote(where.prefix + f) for f in files)
    why = gitstate.ignored_by(where, files[0])
    head = (
        f"not tracked by git ({len(files)} file(s){f', ignored by {why}' if why else ''}): "
        "nothing was changed, because git could not restore them; "
    )
    if ws.org == DEMO_ORG and ws.dir.parent.parent.resolve() == codespaces_dir().resolve():
        # The demo's own sample, kept out of git on purpose: the demo renews it.
        return head + "it is the demo's sample workspace: `./dev demo` refreshes it"
    return head + (
        f"to update it, track them: `git -C {shlex.quote(str(where.top))} add -f -- {shown}` "
        "and commit"
    )


def update_workspace(
    ws: Workspace, *, dry_run: bool = False, versions: Versions | None = None
) -> UpdateResult:
    """Bring one workspace to the template's newest version (see module docstring)."""
    versions = versions or Versions()
    result = UpdateResult(ws.key, "skipped", dry_run=dry_run)
    try:
        answers = rendering.read_answers(ws.dir)
        src, commit = answers.get("_src_path"), answers.get("_commit")
        if not isinstance(src, str) or not src or not commit:
            result.reason = (
                f"no template version in {ANSWERS_FILE}: bring it under the "
                f"template with `mise run cs:adopt {ws.dir}`"
            )
            return result
        result.from_version = str(commit)
        state = versions.state(ws.dir, src, str(commit), answers)
        if not state.newer:  # the same question cs:outdated asks, the same answer
            result.outcome, result.to_version = "current", result.from_version
            return result
        where = gitstate.locate(ws.dir)
        if where is None:
            result.reason = (
                "not inside a git repository (copier update merges through git "
                "history): commit the nexus first"
            )
            return result
        untracked = _not_tracked(ws, where, template_paths(state, src, answers, versions))
        if untracked:
            result.reason, result.files = _track_hint(ws, where, untracked), untracked
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
        if dry_run:
            return _dry_run(ws, where, state, src, result)
        recorded = manifest.load(ws.dir, answers)
        pristine = recorded is not None and manifest.compare(ws.dir, recorded) == ([], [])
        _apply(ws.dir, where, state.ref, result)
        _record(ws, recorded if pristine else None, result, state)
        return result
    except ColtecError as exc:
        result.outcome = "failed"
        result.reason = exc.message + (f" ({exc.hint})" if exc.hint else "")
        return result


def update_targets(words: list[str], *, every: bool) -> list[Workspace]:
    """The workspaces `cs:update` names: one ORG/NAME, or every one with --all."""
    if every and words:
        raise UsageError("give either --all or one ORG/NAME", "e.g. `mise run cs:update --all`")
    if every:
        found = all_workspaces()
        if not found:
            raise UsageError(
                "no workspaces to update", "create one with `mise run cs:new ORG/NAME`"
            )
        return found
    if len(words) != 1:
        raise UsageError(
            f"expected one ORG/NAME, got {len(words)}", "e.g. `mise run cs:update acme/api-dev`"
        )
    return [existing_workspace(words[0])]
