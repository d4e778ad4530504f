"""Config drift: a hash of a workspace's rendered configuration, stored as a container label.

`cs:up` labels the container with the hash of `.devcontainer/` as it was then; `cs:list`
compares that label with the hash of the files now. A difference means the container
runs an older configuration than the one on disk (`cs:up-rebuild` applies it).
"""

from __future__ import annotations

import hashlib

from coltec.workspaces import Workspace

HASH_LENGTH = 16


def config_hash(ws: Workspace) -> str:
    """sha256 over every file under .devcontainer/ (relative path and bytes), shortened."""
    root = ws.dir / ".devcontainer"
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:HASH_LENGTH]


def drift_of(label_hash: str, ws: Workspace) -> str:
    """'current', 'drifted', or 'unknown' (a container made without the label)."""
    if not label_hash:
        return "unknown"
    return "current" if label_hash == config_hash(ws) else "drifted"
