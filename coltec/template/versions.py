"""Is there a newer template for a workspace? One answer for cs:update, cs:outdated, cs:list.

The version an update moves to: COLTEC_TEMPLATE_REF when set; for the default source
(this repository is its own template) its current commit; for another local git
template the newest PEP 440 tag that is not a pre-release, else HEAD (as copier
picks). For a local git template that version is newer only when the template's
inputs (coltec.template.inputs) differ between the recorded `_commit` and it: every
commit of the nexus moves HEAD, only template changes count, so a workspace whose
template did not change stays `current` and untouched. For any other source copier
check-update decides.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coltec import proc
from coltec.errors import TemplateError
from coltec.template import rendering
from coltec.template.inputs import Inputs, subdirectory, template_inputs


@dataclass(frozen=True)
class TemplateState:
    """Where one workspace stands against its template."""

    current: str  # the recorded _commit
    latest: str  # the version an update moves to (git describe, or copier's version)
    ref: str | None  # what copier update is given to move there (None: copier picks)
    newer: bool  # an update would take in a template change
    repo: Path | None = None  # the template as a local git checkout (git answered)
    current_sha: str = ""
    latest_sha: str = ""


def _git() -> str:
    return proc.require("git", "install git")


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
        raise TemplateError(
            f"copier check-update failed for {ws_dir}: {' '.join(tail)}",
            "check the answers file's _src_path and _commit",
        ) from None


def newest_tag(repo: Path) -> str | None:
    """The newest PEP 440 tag that is not a pre-release (copier's pick without a ref)."""
    from packaging.version import InvalidVersion, Version

    versions: list[tuple[Version, str]] = []
    for tag in proc.run([_git(), "tag", "--list"], cwd=repo).stdout.split():
        try:
            version = Version(tag)
        except InvalidVersion:
            continue
        if not version.is_prerelease:
            versions.append((version, tag))
    return max(versions)[1] if versions else None


@dataclass
class Versions:
    """Answers "is there a newer template", with git's answers kept for one run.

    Commits never change, so what is known about one (its id, its inputs, a
    comparison of two) is computed once however many workspaces share it.
    """

    _shas: dict[tuple[Path, str], str] = field(default_factory=dict)
    _targets: dict[tuple[Path, str], tuple[str, str]] = field(default_factory=dict)
    _inputs: dict[tuple[Path, str, str | None], Inputs | None] = field(default_factory=dict)
    _changed: dict[tuple[Path, str, str, str | None, str | None], bool] = field(
        default_factory=dict
    )
    _described: dict[tuple[Path, str], str] = field(default_factory=dict)

    def sha(self, repo: Path, rev: str) -> str:
        key = (repo, rev)
        if key not in self._shas:
            found = proc.run(
                [_git(), "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
                cwd=repo,
                check=False,
            )
            if found.returncode != 0:
                raise TemplateError(
                    f"template version {rev!r} is not a commit of {repo}",
                    "the recorded _commit (and COLTEC_TEMPLATE_REF) must exist in the "
                    "template repository: fetch it, or restore the answers file from git",
                )
            self._shas[key] = found.stdout.strip()
        return self._shas[key]

    def target(self, repo: Path, src: str) -> tuple[str, str]:
        """(ref to give copier, its commit id) of the version an update moves to."""
        key = (repo, os.environ.get(rendering.TEMPLATE_REF_ENV) or src)
        if key not in self._targets:
            ref = rendering.target_ref(src) or newest_tag(repo) or "HEAD"
            sha = self.sha(repo, ref)
            # copier folds a dirty local template into a throw-away commit when given
            # HEAD, and records that commit, which no later update can find: the id.
            self._targets[key] = (sha if ref == "HEAD" else ref, sha)
        return self._targets[key]

    def inputs(self, repo: Path, sha: str, sub: str | None = None) -> Inputs | None:
        if (repo, sha, sub) not in self._inputs:
            self._inputs[(repo, sha, sub)] = template_inputs(repo, sha, sub)
        return self._inputs[(repo, sha, sub)]

    def _subdirectory(self, repo: Path, sha: str, answers: Mapping[str, Any] | None) -> str | None:
        """The subdirectory a workspace with `answers` renders from at `sha`, when its
        answers pick one (a templated `_subdirectory`); None: every choice counts."""
        every = self.inputs(repo, sha)
        if answers is None or every is None:
            return None
        if "{" not in str(every.config.get("_subdirectory") or ""):
            return None
        return subdirectory(every.config, rendering.user_answers(answers)) or None

    def changed(
        self, repo: Path, old: str, new: str, answers: Mapping[str, Any] | None = None
    ) -> bool:
        """Whether a template input differs between two commits (for a workspace with
        `answers`: an input of the subdirectory it renders from)."""
        if old == new:
            return False
        subs = (self._subdirectory(repo, old, answers), self._subdirectory(repo, new, answers))
        key = (repo, old, new, *subs)
        if key not in self._changed:
            self._changed[key] = self._differs(repo, old, new, subs)
        return self._changed[key]

    def _differs(self, repo: Path, old: str, new: str, subs: tuple[str | None, ...]) -> bool:
        diff = proc.run([_git(), "diff", "--name-only", "-z", old, new], cwd=repo)
        paths = [p for p in diff.stdout.split("\0") if p]
        if not paths:
            return False
        sides = (self.inputs(repo, old, subs[0]), self.inputs(repo, new, subs[1]))
        if any(side is None for side in sides):
            return True  # inputs unknown: any change counts
        return any(side.covers(p) for side in sides if side is not None for p in paths)

    def describe(self, repo: Path, sha: str) -> str:
        key = (repo, sha)
        if key not in self._described:
            found = proc.run([_git(), "describe", "--tags", "--always", sha], cwd=repo)
            self._described[key] = found.stdout.strip()
        return self._described[key]

    def state(
        self, ws_dir: Path, src: str, commit: str, answers: Mapping[str, Any] | None = None
    ) -> TemplateState:
        """Where the workspace at `ws_dir`, rendered from `src` at `commit` with `answers`
        (its answers file's, read when not given), stands."""
        repo = rendering.TemplateSource(src, None).local_repo
        if repo is None:
            available, _current, latest = check_update(ws_dir)
            return TemplateState(commit, latest, rendering.target_ref(src), available)
        old = self.sha(repo, commit)
        ref, new = self.target(repo, src)
        if answers is None:
            answers = rendering.read_answers(ws_dir)
        newer = self.changed(repo, old, new, answers)
        latest = commit if new == old else self.describe(repo, new)
        return TemplateState(commit, latest, ref, newer, repo, old, new)

    def local_newer(
        self, src: str, commit: str, answers: Mapping[str, Any] | None = None
    ) -> bool | None:
        """`newer` for a local git template; None for any other source (cs:list stays fast)."""
        repo = rendering.TemplateSource(src, None).local_repo if src else None
        if repo is None:
            return None
        _ref, new = self.target(repo, src)
        return self.changed(repo, self.sha(repo, commit), new, answers)
