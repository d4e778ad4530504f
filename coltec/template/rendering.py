"""The copier wrapper: where the template comes from, rendering, and copier's errors.

The template source is this repository at its current commit unless COLTEC_TEMPLATE
names another copier source (a path or git URL); COLTEC_TEMPLATE_REF pins a tag,
branch or commit. HEAD is resolved to a commit id before copier sees it: copier
would otherwise fold uncommitted changes of a local template into a throw-away
commit, record that commit, and every later update of the workspace would fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coltec_worker.declaration.source import load_yaml
from coltec_worker.errors import ConfigError

from coltec import proc
from coltec.errors import TemplateError, UsageError
from coltec.workspaces import ANSWERS_FILE, REPO_ROOT

TEMPLATE_ENV = "COLTEC_TEMPLATE"
TEMPLATE_REF_ENV = "COLTEC_TEMPLATE_REF"


@dataclass(frozen=True)
class TemplateSource:
    """A copier source and the ref to render (None: copier picks the newest tag)."""

    url: str
    ref: str | None

    @property
    def local_repo(self) -> Path | None:
        """The source as a local git checkout, when it is one (for cheap git queries)."""
        path = Path(self.url.removeprefix("file://")).expanduser()
        return path if path.is_absolute() and (path / ".git").exists() else None


def git_head(repo: Path) -> str:
    git = proc.require("git", "install git")
    return proc.run(
        [git, "rev-parse", "HEAD"],
        cwd=repo,
        hint=f"{repo} must be a git repository with at least one commit",
    ).stdout.strip()


def is_default_source(url: str) -> bool:
    try:
        return Path(url.removeprefix("file://")).resolve() == REPO_ROOT.resolve()
    except OSError:
        return False


def source_for_new() -> TemplateSource:
    """COLTEC_TEMPLATE (+ COLTEC_TEMPLATE_REF), else this repository at HEAD's commit."""
    url = os.environ.get(TEMPLATE_ENV) or str(REPO_ROOT)
    if Path(url).is_dir():  # copier records the source as given: keep it usable from anywhere
        url = str(Path(url).resolve())
    return TemplateSource(url, target_ref(url))


def target_ref(url: str) -> str | None:
    """The ref to render from `url` (None: copier's newest tag; see coltec.template.versions)."""
    pinned = os.environ.get(TEMPLATE_REF_ENV)
    if pinned:
        return pinned
    if is_default_source(url):
        # This repository is its own template: "newest" is the current commit.
        return git_head(REPO_ROOT)
    return None


def read_answers(ws_dir: Path) -> dict[str, Any]:
    """The workspace's .copier-answers.yml as a mapping ({} when there is none)."""
    path = ws_dir / ANSWERS_FILE
    if not path.exists():
        return {}
    try:
        data = load_yaml(path).data  # the worker's loader: bounded aliases, positions
    except ConfigError as exc:
        raise TemplateError(
            f"{path}: cannot read the answers file ({exc.message})",
            "restore it from git, or re-create it with `mise run cs:adopt`",
        ) from None
    if not isinstance(data, dict):
        raise TemplateError(
            f"{path}: the answers file is not a mapping",
            "restore it from git, or re-create it with `mise run cs:adopt`",
        )
    src = data.get("_src_path")
    if isinstance(src, str) and is_relative_local(src):
        data["_src_path"] = str((ws_dir / src).resolve())
    return data


def is_relative_local(src: str) -> bool:
    """A source recorded relative to the workspace (see `copy`), not a URL or ~path."""
    return not (src.startswith(("/", "~")) or "://" in src or ":" in src.split("/")[0])


def pin_source(ws_dir: Path, src: str) -> None:
    """Record `src` (absolute) as the source of a copy of a workspace made elsewhere."""
    path = ws_dir / ANSWERS_FILE
    text = path.read_text(encoding="utf-8")
    path.write_text(record_source(text, src), encoding="utf-8")


def record_source(answers_text: str, src: str) -> str:
    """An answers file's text with its `_src_path` line set to `src`."""
    line = f"_src_path: {json.dumps(src)}"
    return re.sub(r"(?m)^_src_path:.*$", lambda _: line, answers_text)


def user_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Answers without copier's private keys (_src_path, _commit)."""
    return {k: v for k, v in answers.items() if not k.startswith("_")}


_VALIDATION = re.compile(r"Validation error for question '(?P<q>[^']+)': (?P<msg>.*)", re.S)


@contextmanager
def copier_errors(action: str, where: Path | str) -> Iterator[None]:
    """Turn copier's exceptions into one TemplateError that says what to do."""
    from copier.errors import CopierError, InteractiveSessionError, UserMessageError
    from plumbum.commands.processes import ProcessExecutionError

    with warnings.catch_warnings():
        # Copier's warnings (dirty local template, old template version...) are
        # about situations this wrapper already avoids or reports itself.
        warnings.simplefilter("ignore")
        try:
            yield
        except InteractiveSessionError:
            raise TemplateError(
                f"{action} {where}: copier needs answers but no terminal is attached",
                "pass --defaults and/or --data KEY=VALUE",
            ) from None
        except KeyboardInterrupt:
            raise TemplateError(
                f"{action} {where}: interrupted", "nothing was committed; run the command again"
            ) from None
        except ProcessExecutionError as exc:
            tail = "\n".join(str(exc.stderr).strip().splitlines()[-8:])
            in_nexus = any(str(arg) in ("write-tree", "apply") for arg in exc.argv)
            raise TemplateError(
                f"{action} {where}: git failed: {' '.join(map(str, exc.argv))}\n{tail}",
                "the nexus's git index has unresolved conflicts: `git status`, resolve them, "
                "`git add` and commit, then run again"
                if in_nexus and "unmerged" in tail.lower()
                else "check that the template source is a git repository and the ref exists",
            ) from None
        except (UserMessageError, CopierError, ValueError, TypeError) as exc:
            text = str(exc).strip() or type(exc).__name__
            match = _VALIDATION.search(text)
            if match:
                raise UsageError(
                    f"{action} {where}: answer '{match['q']}' is invalid: "
                    f"{' '.join(match['msg'].split())}",
                    f"fix it with --data {match['q']}=VALUE",
                ) from None
            raise TemplateError(
                f"{action} {where}: {text}",
                "check COLTEC_TEMPLATE / COLTEC_TEMPLATE_REF and the answers file",
            ) from None


def copy(
    source: TemplateSource,
    dst: Path,
    data: Mapping[str, Any],
    *,
    defaults: bool,
    user_defaults: Mapping[str, Any] | None = None,
    quiet: bool = True,
) -> None:
    """Render the template into `dst` (copier copy); prompts unless `defaults`."""
    from copier import run_copy

    url, cwd = source.url, Path.cwd()
    if is_default_source(url):
        # Record this repository relative to the workspace, so the answers file works
        # in every clone of the nexus; copier resolves a relative source against the
        # working directory, which is therefore the workspace (here and in updates).
        dst.mkdir(parents=True, exist_ok=True)
        url, cwd = os.path.relpath(REPO_ROOT.resolve(), dst.resolve()), dst
    with copier_errors("rendering", dst), contextlib.chdir(cwd):
        worker = run_copy(
            url,
            dst.resolve(),
            data=dict(data),
            vcs_ref=source.ref,
            defaults=defaults,
            user_defaults=dict(user_defaults or {}),
            quiet=quiet,
            overwrite=False,
            skip_tasks=True,
            cleanup_on_error=True,
        )
        # A question whose `when:` is false is not recorded, yet copier renders with the
        # value --data (or a default of the org's) gave it: no later render of the
        # recorded answers (cs:outdated, cs:update) could reproduce the files. Render
        # again from exactly what was recorded, as every later render will.
        dropped = set(worker.answers.hidden) & (set(data) | set(user_defaults or {}))
        if dropped:
            run_copy(
                url,
                dst.resolve(),
                data={
                    **{k: v for k, v in data.items() if k.startswith("_")},  # private values
                    **user_answers(read_answers(dst)),
                },
                vcs_ref=source.ref,
                defaults=True,
                quiet=True,
                overwrite=True,
                skip_tasks=True,
            )


def render_answers(answers: Mapping[str, Any], dst: Path) -> None:
    """Render the template exactly as recorded in `answers` (same source, same commit)."""
    from copier import run_copy

    src, commit = answers.get("_src_path"), answers.get("_commit")
    if not isinstance(src, str) or not isinstance(commit, str):
        raise TemplateError(
            "the answers file records no template source or version",
            "bring the workspace under the template with `mise run cs:adopt`",
        )
    with copier_errors("rendering", dst):
        run_copy(
            src,
            dst,
            data=user_answers(answers),
            vcs_ref=commit,
            defaults=True,
            quiet=True,
            overwrite=True,
            skip_tasks=True,
        )


def rendered_files(root: Path) -> dict[str, bytes]:
    """Every file below `root` by POSIX relative path (what a render produced)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.parts
    }
