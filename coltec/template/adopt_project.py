"""`cs:adopt` of a project's own folder (outside codespaces/): what differs there.

The template's .gitignore (`/*`: only the template's files in git) would hide the
project's files from its own repository, so a project gets one that ignores only what
coltec writes into a workspace; and the next steps name the folder by its path (every
task that takes a workspace takes one) and commit into the project's repository.
"""

from __future__ import annotations

import shlex
from pathlib import Path

from coltec.template import gitstate, manifest
from coltec.workspaces import codespaces_dir

GITIGNORE = ".gitignore"
# What coltec writes into a workspace that git must not see: the worker's state and the
# org tools cs:new/cs:up write (the template's .gitignore lists them too).
COLTEC_OWN = ("/.coltec/", "/.devcontainer/coltec-org.json")
PROJECT_GITIGNORE = (
    "# coltec's own files in this project (the sync worker's state, the org's tools\n"
    "# written by cs:up); the project's files are not ignored.\n"
    + "".join(f"{p}\n" for p in COLTEC_OWN)
)


def in_codespaces(ws_dir: Path) -> bool:
    """Whether the folder is a workspace of this nexus (codespaces/ORG/NAME)."""
    return ws_dir.resolve().parent.parent == codespaces_dir().resolve()


def write_gitignore(path: Path, written: list[str], kept: list[str], notes: list[str]) -> None:
    """A project's .gitignore: its own is kept; else one of coltec's own files only."""
    if path.exists():
        kept.append(GITIGNORE)
        notes.append(
            f"your {GITIGNORE} is kept: add {' and '.join(COLTEC_OWN)} to it, or "
            "cs:update finds them uncommitted once cs:up wrote them"
        )
        return
    path.write_text(PROJECT_GITIGNORE, encoding="utf-8")
    written.append(GITIGNORE)
    notes.append(
        f"{GITIGNORE} ignores only coltec's own files ({', '.join(COLTEC_OWN)}), "
        "not the template's `/*`: your project's files stay visible to git"
    )


def next_steps(ws_dir: Path, written: list[str]) -> list[str]:
    """What to run next, naming the folder the way every task finds it."""
    msg = shlex.quote("coltec: the workspace's template files (cs:adopt)")
    if in_codespaces(ws_dir):
        key = f"{ws_dir.resolve().parent.name}/{ws_dir.resolve().name}"
        add = f"git add -- {shlex.quote(str(ws_dir))} && git commit -m {msg}"
    else:
        key = str(ws_dir.resolve())  # an absolute path: the tasks run from the nexus root
        files = set(written)
        if (ws_dir / manifest.MANIFEST_FILE).is_file():  # committed with the answers
            files.add(manifest.MANIFEST_FILE)
        git = f"git -C {shlex.quote(key)}"
        listed = " ".join(shlex.quote(f) for f in sorted(files))
        add = f"{git} add -- {listed} && {git} commit -m {msg}"
        if gitstate.locate(ws_dir) is None:  # cs:update merges through git history
            add = f"{git} init && {add}"
    target = shlex.quote(key)
    return [
        add,
        f"mise run cs:validate {target}",
        f"mise run cs:up {target}",
        f"mise run cs:outdated {target}",
        f"mise run cs:update {target}",
    ]
