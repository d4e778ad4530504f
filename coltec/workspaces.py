"""The workspace registry: what lives under codespaces/<org>/<name>/ and how targets resolve."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from coltec.errors import UsageError, WorkspaceNotFound

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC_RELPATH = Path(".devcontainer") / "workspace-spec.yaml"
DEVCONTAINER_RELPATH = Path(".devcontainer") / "devcontainer.json"
ANSWERS_FILE = ".copier-answers.yml"
# The worker's state directory in a workspace (coltec_worker.sync.state.default_state_dir).
STATE_RELPATH = Path(".coltec") / "state"
# An org or workspace name: a folder, a tailnet hostname (<= 63 characters) and a slug
# in remote paths. Matched whole (re.fullmatch): `$` would accept a trailing newline.
NAME_RE = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
# `./dev demo`'s sample workspace; codespaces/.gitignore keeps its org out of git.
DEMO_KEY = "demo/sample-dev"
DEMO_ORG = DEMO_KEY.split("/", 1)[0]


def codespaces_dir() -> Path:
    """COLTEC_CODESPACES_DIR, else codespaces/ in this repository."""
    return Path(os.environ.get("COLTEC_CODESPACES_DIR") or REPO_ROOT / "codespaces")


def nexus_id(root: Path | None = None) -> str:
    """This nexus's identity on a Docker engine: a digest of its codespaces folder's path.

    Two clones of the repository (two folders) are two nexuses, even on one machine.
    """
    base = (root or codespaces_dir()).resolve()
    return hashlib.sha256(str(base).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Workspace:
    org: str
    name: str
    dir: Path

    @property
    def key(self) -> str:
        return f"{self.org}/{self.name}"

    @property
    def spec_file(self) -> Path:
        return self.dir / SPEC_RELPATH

    @property
    def devcontainer_file(self) -> Path:
        return self.dir / DEVCONTAINER_RELPATH

    @property
    def state_dir(self) -> Path:
        return self.dir / STATE_RELPATH


def all_workspaces(root: Path | None = None) -> list[Workspace]:
    """Every codespaces/<org>/<name>/ holding a .devcontainer/, sorted by key."""
    base = root or codespaces_dir()
    if not base.is_dir():
        return []
    found = [
        Workspace(d.parent.name, d.name, d)
        for d in base.glob("*/*")
        if (d / ".devcontainer").is_dir()
    ]
    return sorted(found, key=lambda w: w.key)


def workspace(key: str, root: Path | None = None) -> Workspace:
    """The workspace named `org/name` (existing or not — callers decide)."""
    parts = key.strip("/").split("/")
    if len(parts) != 2 or not all(parts):
        raise WorkspaceNotFound(
            f"'{key}' is not of the form ORG/NAME",
            "name a workspace as org/name, e.g. acme/api-dev",
        )
    base = root or codespaces_dir()
    return Workspace(parts[0], parts[1], base / parts[0] / parts[1])


def check_name(kind: str, value: str) -> None:
    """Refuse an org or workspace name that is not a slug (UsageError, exit 2)."""
    if not NAME_RE.fullmatch(value):
        shown = value if len(value) <= 70 else value[:67] + "..."
        raise UsageError(
            f"{kind} {shown!r} is not a slug",
            f"use at most 63 lowercase letters, digits and '-', starting with a letter or "
            f"digit (e.g. {'acme' if kind == 'org' else 'api-dev'})",
        )


def is_dir(path: Path) -> bool:
    """Path.is_dir, False for a name the file system cannot hold (too long, NUL...)."""
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def is_file(path: Path) -> bool:
    """Path.is_file, False for a name the file system cannot hold (too long, NUL...)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def workspace_at(folder: Path) -> Workspace:
    """A workspace folder outside codespaces/ (a project's own, `cs:adopt`ed): named by
    the org and name of its answers file, else by its parent folder and its own."""
    folder = folder.expanduser().resolve()
    org, name = folder.parent.name, folder.name
    import yaml

    try:
        answers = yaml.safe_load((folder / ANSWERS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, yaml.YAMLError):
        answers = None
    if isinstance(answers, dict):
        org, name = str(answers.get("org") or org), str(answers.get("name") or name)
    return Workspace(org, name, folder)


def existing_workspace(key: str, root: Path | None = None) -> Workspace:
    """ORG/NAME under codespaces/, or a path to a folder holding .devcontainer/ (one
    with a slash that is not ORG/NAME: `./proj`, `/src/proj`, `~/proj`)."""
    if _looks_like_path(key) and is_dir(Path(key).expanduser() / ".devcontainer"):
        return workspace_at(Path(key))
    ws = workspace(key, root)
    if not is_dir(ws.dir / ".devcontainer"):
        names = ", ".join(w.key for w in all_workspaces(root)[:5]) or "none yet"
        raise WorkspaceNotFound(
            f"no workspace '{key}' under {ws.dir.parent.parent}",
            f"`mise run cs:list` shows them (here: {names}); "
            f"create it with `mise run cs:new {key}`",
        )
    return ws


def resolve_spec_files(targets: Iterable[str], root: Path | None = None) -> list[Path]:
    """Spec files for targets: a spec file, a directory (searched), or ORG/NAME.

    No targets means every workspace under codespaces/. A file named twice (acme/api and
    its folder, its spec's path) is checked once, where it was first named.
    """
    targets = list(targets)
    if not targets:
        return [w.spec_file for w in all_workspaces(root)]
    files = _targets(targets, root)
    unique: dict[Path, Path] = {}
    for file in files:
        try:
            same = file.resolve()
        except (OSError, RuntimeError):  # a name the file system cannot hold: as given
            same = file
        unique.setdefault(same, file)
    return list(unique.values())


def _targets(targets: list[str], root: Path | None) -> list[Path]:
    files: list[Path] = []
    for target in targets:
        path = Path(target)
        if is_file(path):
            files.append(path)
        elif is_dir(path):
            found = sorted(path.rglob("workspace-spec.yaml"))
            if not found:
                raise WorkspaceNotFound(
                    f"{target}: no workspace-spec.yaml below this directory",
                    "point at a workspace or a spec file",
                )
            files.extend(found)
        elif _looks_like_path(target):
            raise WorkspaceNotFound(
                f"{target}: no such file or directory",
                "give a workspace as org/name, a directory, or a spec file",
            )
        else:
            files.append(existing_workspace(target, root).spec_file)
    return files


def _looks_like_path(target: str) -> bool:
    """A file-system path rather than ORG/NAME: absolute, relative-dotted, or a file name."""
    return (
        target.startswith(("/", "./", "../", "~"))
        or target.count("/") != 1
        or target.endswith((".yaml", ".yml"))
    )
