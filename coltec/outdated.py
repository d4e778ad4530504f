"""`cs:outdated`: how far each workspace is from the template, and where it was hand-edited.

Version: copier check-update (the recorded `_commit` against the template's newest
tag, or HEAD without tags). For a template that is a local git checkout — this
repository, the usual case — "outdated" is sharper: the template files (copier.yaml
and the subdirectory) changed between the recorded commit and the commit an update
would move to. Every commit of the nexus moves HEAD; only template changes count.

Hand edits: the rendered files compared with a fresh render of the same answers at
the same template commit, in a temporary directory.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from . import proc, templating
from .errors import ColtecError
from .workspaces import ANSWERS_FILE, Workspace


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


def check_update(ws_dir: Path) -> tuple[bool, str, str]:
    """copier check-update: (update available, current version, latest version)."""
    copier = proc.require("copier", "run ./dev setup (copier is a Python dependency)")
    result = proc.run(
        [copier, "check-update", "--output-format", "json", str(ws_dir)],
        check=False,
        timeout=300,
    )
    try:
        data = json.loads(result.stdout.strip().splitlines()[-1])
        return (
            bool(data["update_available"]),
            str(data["current_version"]),
            str(data["latest_version"]),
        )
    except (IndexError, KeyError, ValueError):
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise templating.TemplateError(
            f"copier check-update failed for {ws_dir}: {' '.join(tail)}",
            "check the answers file's _src_path and _commit",
        ) from None


def _subdirectory(repo: Path, commit: str) -> str:
    git = proc.require("git", "install git")
    shown = proc.run([git, "show", f"{commit}:copier.yaml"], cwd=repo, check=False)
    try:
        data = yaml.safe_load(shown.stdout) if shown.returncode == 0 else {}
    except yaml.YAMLError:
        data = {}
    sub = data.get("_subdirectory") if isinstance(data, dict) else None
    return str(sub) if sub else "."


def template_changed(repo: Path, old: str, new: str) -> tuple[bool, str]:
    """(template files differ between two commits, description of `new`)."""
    git = proc.require("git", "install git")
    described = proc.run([git, "describe", "--tags", "--always", new], cwd=repo).stdout.strip()
    paths = ["copier.yaml", _subdirectory(repo, new), _subdirectory(repo, old)]
    diff = proc.run(
        [git, "diff", "--quiet", old, new, "--", *sorted(set(paths))], cwd=repo, check=False
    )
    if diff.returncode not in (0, 1):
        raise templating.TemplateError(
            f"cannot compare template commits {old} and {new} in {repo}",
            "the recorded _commit must exist in the template repository",
        )
    return diff.returncode == 1, described


def hand_edits(ws_dir: Path, answers: dict[str, object]) -> tuple[list[str], list[str]]:
    """(rendered files whose content differs, rendered files that are missing)."""
    with tempfile.TemporaryDirectory(prefix="coltec-outdated-") as tmp:
        fresh = Path(tmp) / "render"
        templating.render_answers(answers, fresh)
        rendered = templating.rendered_files(fresh)
        fresh_answers = templating.read_answers(fresh)
    edited, missing = [], []
    for rel, content in rendered.items():
        path = ws_dir / rel
        if not path.is_file():
            missing.append(rel)
        elif rel == ANSWERS_FILE:
            # copier writes this file, recording the source as it was given: relative to
            # the workspace in the nexus, absolute in the scratch render. Same answers,
            # same source, same version: no hand edit.
            if templating.read_answers(ws_dir) != fresh_answers:
                edited.append(rel)
        elif path.read_bytes() != content:
            edited.append(rel)
    return edited, missing


TemplateMemo = dict[tuple[Path, str, str], tuple[bool, str]]


def check_drift(ws: Workspace, *, edits: bool = True, memo: TemplateMemo | None = None) -> Drift:
    """Version and hand-edit drift of one workspace; errors become `Drift.error`.

    Pass one `memo` to a run over many workspaces: those rendered from the same
    commit share the git comparison.
    """
    memo = {} if memo is None else memo
    drift = Drift(ws.key)
    try:
        answers = templating.read_answers(ws.dir)
        src, commit = answers.get("_src_path"), answers.get("_commit")
        if not isinstance(src, str) or not isinstance(commit, str):
            drift.error = (
                f"no template version in {ANSWERS_FILE}: adopt it with `mise run cs:adopt {ws.dir}`"
            )
            return drift
        drift.current = commit
        repo = templating.TemplateSource(src, None).local_repo
        if repo is None:
            available, _current, latest = check_update(ws.dir)
            drift.latest, drift.outdated = latest, available
        else:  # git answers directly, and sharper; copier check-update would cost ~0.6 s
            target = templating.target_ref(src) or "HEAD"
            key = (repo, commit, target)
            if key not in memo:
                memo[key] = template_changed(repo, commit, target)
            changed, described = memo[key]
            drift.template_changed, drift.latest = changed, described
            drift.outdated = changed
        if edits:
            drift.edited, drift.missing = hand_edits(ws.dir, answers)
    except ColtecError as exc:
        drift.error = exc.message + (f" ({exc.hint})" if exc.hint else "")
    return drift
