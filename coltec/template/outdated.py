"""`cs:outdated`: how far each workspace is from the template, and where it was hand-edited.

Version: "outdated" is coltec.template.versions' answer — the one cs:update acts on:
for a local git template (this repository, the usual case) the template's inputs
changed between the recorded commit and the one an update would move to; for any
other source copier check-update.

Hand edits: the rendered files compared with what the template writes for the same
answers at the same template commit: the hashes of the workspace's manifest
(coltec.template.manifest) when it describes exactly that render, else a fresh render
in a temporary directory.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from coltec.errors import ColtecError
from coltec.template import manifest, rendering
from coltec.template.versions import Versions as Versions  # re-exported for tasks.py
from coltec.workspaces import ANSWERS_FILE, Workspace


@dataclass
class Drift:
    workspace: str
    current: str = ""
    latest: str = ""
    outdated: bool | None = None
    template_changed: bool | None = None
    edited: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    error: str = ""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def hand_edits(ws_dir: Path, answers: dict[str, object]) -> tuple[list[str], list[str]]:
    """(rendered files whose content differs, rendered files that are missing)."""
    recorded = manifest.load(ws_dir, answers)
    if recorded is not None:
        return manifest.compare(ws_dir, recorded)
    return rendered_edits(ws_dir, answers)


def fresh_render(answers: dict[str, object]) -> tuple[dict[str, bytes], dict[str, object]]:
    """(files, answers) of a render of `answers` at their recorded source and version."""
    with tempfile.TemporaryDirectory(prefix="coltec-outdated-") as tmp:
        fresh = Path(tmp) / "render"
        rendering.render_answers(answers, fresh)
        return rendering.rendered_files(fresh), rendering.read_answers(fresh)


def rendered_edits(ws_dir: Path, answers: dict[str, object]) -> tuple[list[str], list[str]]:
    """`hand_edits` by rendering the answers again (no manifest to trust)."""
    rendered, fresh_answers = fresh_render(answers)
    edited, missing = [], []
    for rel, content in rendered.items():
        path = ws_dir / rel
        if not path.is_file():
            missing.append(rel)
        elif rel == ANSWERS_FILE:
            # copier writes this file, recording the source as it was given: relative to
            # the workspace in the nexus, absolute in the scratch render. Same answers,
            # same source, same version: no hand edit.
            if rendering.read_answers(ws_dir) != fresh_answers:
                edited.append(rel)
        elif path.read_bytes() != content:
            edited.append(rel)
    return edited, missing


def check_drift(ws: Workspace, *, edits: bool = True, versions: Versions | None = None) -> Drift:
    """Version and hand-edit drift of one workspace; errors become `Drift.error`.

    Pass one `versions` to a run over many workspaces: those rendered from the same
    commit share git's answers.
    """
    drift = Drift(ws.key)
    try:
        answers = rendering.read_answers(ws.dir)
        src, commit = answers.get("_src_path"), answers.get("_commit")
        if not isinstance(src, str) or not isinstance(commit, str):
            drift.error = (
                f"no template version in {ANSWERS_FILE}: adopt it with `mise run cs:adopt {ws.dir}`"
            )
            return drift
        drift.current = commit
        state = (versions or Versions()).state(ws.dir, src, commit, answers)
        drift.latest, drift.outdated = state.latest, state.newer
        drift.template_changed = state.newer if state.repo is not None else None
        if edits:
            drift.edited, drift.missing = hand_edits(ws.dir, answers)
    except ColtecError as exc:
        drift.error = exc.message + (f" ({exc.hint})" if exc.hint else "")
    return drift
