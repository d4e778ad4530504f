"""Files rclone cannot transfer: set aside so that the rest of their path keeps syncing.

When a run fails and rclone names the files it failed on, those files are recorded in
state/quarantine/<name>.json and excluded from the path's next runs (an anchored
--exclude each), so one odd file — immutable, unreadable, a name the other side
refuses — never halts its path. `status` and the log name them. An entry leaves by
itself when its file changes: gone, renamed, or touched in any way (its inode change
time moves, e.g. after chmod, chattr or an edit); the next run then tries it again.
"""

from __future__ import annotations

import contextlib
import json
import os

from coltec_worker.record import TYPE_CHECKING
from coltec_worker.sync.state import Layout, remove, write_json

if TYPE_CHECKING:
    from typing import Any

GLOB = "\\*?[]{}"


def exclude_pattern(name: str) -> str:
    """An rclone filter that matches exactly the file `name` (relative to the path root)."""
    return "/" + "".join("\\" + c if c in GLOB else c for c in name)


def _fingerprint(local_root: str, name: str) -> list[int] | None:
    try:
        st = os.lstat(os.path.join(local_root, name))
    except OSError:
        return None
    return [st.st_ino, st.st_ctime_ns, st.st_size]


def load(layout: Layout, name: str) -> list[dict[str, Any]]:
    path = layout.quarantine(name)
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return []
    items = data.get("files") if isinstance(data, dict) else None
    return (
        [i for i in items if isinstance(i, dict) and isinstance(i.get("file"), str)]
        if isinstance(items, list)
        else []
    )


def current(layout: Layout, name: str, local_root: str) -> tuple[list[str], list[str]]:
    """(files still set aside, files released because they changed). Saves the change."""
    kept, released = [], []
    entries = load(layout, name)
    for entry in entries:
        if entry.get("seen") == _fingerprint(local_root, entry["file"]):
            kept.append(entry)
        else:
            released.append(entry["file"])
    if released:
        _save(layout, name, kept)
    return [e["file"] for e in kept], released


def add(layout: Layout, name: str, local_root: str, files: list[str]) -> list[str]:
    """Set `files` aside; returns the ones that were not already."""
    entries = load(layout, name)
    known = {e["file"] for e in entries}
    new = [f for f in files if f not in known]
    entries += [{"file": f, "seen": _fingerprint(local_root, f)} for f in new]
    _save(layout, name, entries)
    return new


def _save(layout: Layout, name: str, entries: list[dict[str, Any]]) -> None:
    path = layout.quarantine(name)
    if entries:
        write_json(path, {"files": entries})
    else:
        with contextlib.suppress(OSError):
            remove(path)
