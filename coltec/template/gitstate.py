"""What git says about a workspace folder inside the nexus repository.

copier update needs the destination in git and refuses a dirty one; "dirty" here
is `git status --porcelain -- <workspace>` in the enclosing repository, so other
workspaces' changes never block this one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from coltec import proc

CONFLICT_MARKERS = (b"<<<<<<< ", b">>>>>>> ")


@dataclass(frozen=True)
class GitDir:
    """A folder inside a git work tree: the tree's top and the folder's prefix in it."""

    top: Path
    prefix: str  # 'codespaces/acme/api-dev/' (with a trailing slash), '' at the top

    def relative(self, repo_path: str) -> str | None:
        """A repository-relative path as relative to the folder (None when outside)."""
        if not repo_path.startswith(self.prefix):
            return None
        return repo_path[len(self.prefix) :]


def _git() -> str:
    return proc.require("git", "install git")


def locate(folder: Path) -> GitDir | None:
    """The git work tree holding `folder`, or None when it is not in one."""
    result = proc.run(
        [_git(), "rev-parse", "--show-toplevel", "--show-prefix"], cwd=folder, check=False
    )
    if result.returncode != 0:
        return None
    lines = result.stdout.splitlines()
    return GitDir(Path(lines[0]), lines[1] if len(lines) > 1 else "")


def status(where: GitDir) -> list[tuple[str, str]]:
    """(XY code, folder-relative path) of every changed, untracked or unmerged file."""
    out = proc.run(
        [_git(), "status", "--porcelain=v1", "-z", "--untracked-files=all", "--", "."],
        cwd=where.top / where.prefix if where.prefix else where.top,
    )
    entries: list[tuple[str, str]] = []
    fields = out.stdout.split("\0")
    i = 0
    while i < len(fields):
        entry = fields[i]
        i += 1
        if len(entry) < 4:
            continue
        code, path = entry[:2], entry[3:]
        if code[0] in "RC":  # a rename's source path follows; the target is what counts
            i += 1
        rel = where.relative(path)
        if rel is not None:
            entries.append((code, rel))
    return entries


def tracked_files(where: GitDir) -> list[str]:
    """Folder-relative paths of the files git tracks below the folder."""
    out = proc.run(
        [_git(), "ls-files", "-z", "--", "."],
        cwd=where.top / where.prefix if where.prefix else where.top,
    )
    return [p for p in out.stdout.split("\0") if p]


def ignored_by(where: GitDir, rel: str) -> str:
    """The ignore rule hiding a folder-relative path from git ('codespaces/.gitignore:1'), or ''."""
    found = proc.run(
        [_git(), "check-ignore", "-v", "--no-index", "--", where.prefix + rel],
        cwd=where.top,
        check=False,
    )
    source, _, rest = found.stdout.partition(":")
    line, _, pattern = rest.partition(":")
    # -v also names the last matching *negated* pattern ('!/.gitignore'): not ignored then.
    negated = pattern.startswith("!")
    return f"{source}:{line}" if found.returncode == 0 and source and not negated else ""


def conflicted_files(folder: Path, where: GitDir) -> list[str]:
    """Files left with conflicts: unmerged in the index, holding markers, or `.rej`."""
    found: set[str] = set()
    for code, rel in status(where):
        if "U" in code or code in ("AA", "DD"):
            found.add(rel)
        if rel.endswith(".rej"):
            found.add(rel)
            continue
        path = folder / rel
        if code != " D" and path.is_file() and _has_markers(path):
            found.add(rel)
    return sorted(found)


def _has_markers(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return any(line.startswith(CONFLICT_MARKERS) for line in fh)
    except OSError:
        return False


@contextmanager
def unmerged_set_aside(where: GitDir) -> Iterator[None]:
    """Run a block with the index free of unmerged entries outside `where`'s folder.

    A conflicting `copier update` leaves unmerged entries in the nexus's index (that is
    how git marks the conflict); `git write-tree`, which the next copier update runs
    on the whole index, then fails. Entries outside this workspace are reset to HEAD
    for the block and put back exactly as they were afterwards, so each conflict stays
    inside its own workspace.
    """
    git, top = _git(), where.top
    listed = proc.run([git, "ls-files", "--unmerged", "-z"], cwd=top).stdout.split("\0")
    saved = [e for e in listed if "\t" in e and where.relative(e.split("\t", 1)[1]) is None]
    paths = sorted({e.split("\t", 1)[1] for e in saved})
    if paths:
        proc.run([git, "reset", "-q", "--", *paths], cwd=top, check=False)
    try:
        yield
    finally:
        if paths:
            removal = [f"0 {'0' * 40}\t{p}" for p in paths]
            proc.run(
                [git, "update-index", "-z", "--index-info"],
                cwd=top,
                input="\0".join([*removal, *saved]) + "\0",
            )


def init_repo(folder: Path) -> None:
    """`git init` + commit everything (scratch copies for dry runs and tests)."""
    git = _git()
    env = {
        "GIT_AUTHOR_NAME": "coltec",
        "GIT_AUTHOR_EMAIL": "coltec@localhost",
        "GIT_COMMITTER_NAME": "coltec",
        "GIT_COMMITTER_EMAIL": "coltec@localhost",
    }
    full = {**os.environ, **env}
    proc.run([git, "init", "-q"], cwd=folder, env=full)
    proc.run([git, "add", "-A"], cwd=folder, env=full)
    proc.run(
        [git, "commit", "-q", "--no-verify", "--no-gpg-sign", "--allow-empty", "-m", "scratch"],
        cwd=folder,
        env=full,
    )
