"""The state directory: where the worker keeps what must survive a container rebuild.

Default: $COLTEC_STATE_DIR, else `<workspace>/.coltec/state`, where <workspace> is the
folder that holds `.devcontainer/` (for /workspace/.devcontainer/workspace-spec.yaml:
/workspace/.coltec/state). It is excluded from every sync path. Layout:

    worker.pid              pidfile, flock-ed by the running daemon (one copy only)
    status/<name>.json      per-path status, written atomically (read by `status`)
    bisync/<name>/          rclone bisync --workdir (listings, lock files)
    markers/<name>.json     first-run marker: written after the first successful run
    backups/<name>/<stamp>/ local side of --backup-dir / --backup-dir1 (never synced)
    logs/<name>.rclone.log  the last rclone run's stderr (JSON lines from rclone)
    running/<name>.json     the rclone running for <name> (pid, start time), while it runs
    quarantine/<name>.json  files rclone could not transfer, excluded until they change
    flush.request / flush.done   the `coltec-worker flush` handshake
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
from collections.abc import Mapping
from datetime import datetime

from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

StrPath = str | os.PathLike[str]


def default_state_dir(config: StrPath, env: Mapping[str, str]) -> str:
    explicit = env.get("COLTEC_STATE_DIR")
    if explicit:
        return explicit
    folder = os.path.dirname(os.path.realpath(config))
    workspace = os.path.dirname(folder) if os.path.basename(folder) == ".devcontainer" else folder
    return os.path.join(workspace, ".coltec", "state")


# The schema's sync-name pattern (and maxLength): a name is one safe file name.
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def safe_name(name: str) -> str:
    """`name` if it is one file name that cannot leave its folder, else ValueError.

    The pipeline only lets such names through (the schema's pattern); this makes every
    state file's path provably inside the state directory whatever the caller.
    """
    if not SAFE_NAME.fullmatch(name):
        raise ValueError(f"unsafe sync name {name!r}: not a plain file name")
    return name


class Layout:
    """Where each state file lives; paths are plain strings (the daemon does without
    pathlib, which with urllib.parse and ipaddress costs it about 0.6 MB)."""

    def __init__(self, root: StrPath) -> None:
        self.root = os.fspath(root)

    def __repr__(self) -> str:
        return f"Layout({self.root!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Layout) and other.root == self.root

    def _in(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    @property
    def pidfile(self) -> str:
        return self._in("worker.pid")

    @property
    def flush_request(self) -> str:
        return self._in("flush.request")

    @property
    def flush_done(self) -> str:
        return self._in("flush.done")

    @property
    def notices(self) -> str:
        """What the declaration asks that the worker does not do (Plan.notices), for status."""
        return self._in("notices.json")

    def status(self, name: str) -> str:
        return self._in("status", f"{safe_name(name)}.json")

    def workdir(self, name: str) -> str:
        return self._in("bisync", safe_name(name))

    def marker(self, name: str) -> str:
        return self._in("markers", f"{safe_name(name)}.json")

    def backups(self, name: str) -> str:
        return self._in("backups", safe_name(name))

    def quarantine(self, name: str) -> str:
        """Files of `name` rclone could not transfer, set aside (see quarantine.py)."""
        return self._in("quarantine", f"{safe_name(name)}.json")

    def running(self, name: str) -> str:
        """The rclone this worker runs for `name` (pid, start time): found after a kill -9."""
        return self._in("running", f"{safe_name(name)}.json")

    def rclone_log(self, name: str) -> str:
        return self._in("logs", f"{safe_name(name)}.rclone.log")


STATE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM})


def not_a_folder(root: StrPath) -> str | None:
    """The state directory, or the parent of it that exists, when that is not a folder
    (a file, a broken link): no write under it can succeed. None otherwise."""
    probe = os.fspath(root)
    while not os.path.lexists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            return None
        probe = parent
    return None if os.path.isdir(probe) else probe


def state_problem(root: StrPath) -> str | None:
    """Why the state directory cannot be written ("full", "read-only"...), or None."""
    blocked = not_a_folder(root)
    if blocked is not None:
        return f"not a folder ({blocked})"
    probe = os.fspath(root)
    while not os.path.exists(probe) and probe != os.path.dirname(probe):
        probe = os.path.dirname(probe)
    try:
        vfs = os.statvfs(probe)
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    if vfs.f_flag & os.ST_RDONLY:
        return "read-only"
    if vfs.f_bavail == 0 or (vfs.f_files and vfs.f_favail == 0):
        return "full"
    if not os.access(probe, os.W_OK):
        return "not writable by this user"
    return None


def is_state_error(exc: BaseException) -> bool:
    """An OSError the state directory's filesystem causes (full, read-only, permissions)."""
    return isinstance(exc, OSError) and exc.errno in STATE_ERRNOS


def state_error_message(root: StrPath, exc: OSError) -> tuple[str, str]:
    """(one-line message, hint) for a failed write under the state directory."""
    why = state_problem(root) or (exc.strerror or str(exc)).lower()
    return (
        f"the state directory {root} is {why} ({exc.strerror}): this run was not recorded",
        "free space on its filesystem (or make it writable), or set COLTEC_STATE_DIR to "
        "another folder; the worker retries by itself",
    )


def write_json(path: StrPath, data: Any) -> None:
    """Atomic: a reader sees the old file or the new one, never half of either."""
    folder, name = os.path.split(os.fspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")  # one writer per pid
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=str)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: StrPath) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError):
        return None


# -- first-run markers ----------------------------------------------------------


def marker_ok(layout: Layout, name: str, local: str, remote: str) -> bool:
    """True when this exact pair (local, remote) has completed a run before."""
    data = read_json(layout.marker(name))
    return isinstance(data, dict) and data.get("local") == local and data.get("remote") == remote


def write_marker(layout: Layout, name: str, local: str, remote: str, when: datetime) -> None:
    write_json(layout.marker(name), {"local": local, "remote": remote, "since": when.isoformat()})


def _listdir(folder: str) -> list[str]:
    try:
        return sorted(os.listdir(folder))
    except OSError:
        return []


def has_listings(layout: Layout, name: str) -> bool:
    names = _listdir(layout.workdir(name))
    return any(n.endswith((".path1.lst", ".path2.lst")) for n in names)


def critical_listings(layout: Layout, name: str) -> list[str]:
    """bisync leaves `.lst-err` files when it stopped in a critical state."""
    workdir = layout.workdir(name)
    return [os.path.join(workdir, n) for n in _listdir(workdir) if n.endswith(".lst-err")]


def pid_alive(pid: int) -> bool:
    """Running (a zombie is not: its lock will never be released or renewed)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def stale_bisync_locks(layout: Layout, name: str) -> list[str]:
    """Lock files left by a killed bisync: their PID no longer runs rclone.

    Only called while this worker holds the pidfile lock, so no other worker can own them.
    """
    workdir = layout.workdir(name)
    stale: list[str] = []
    for lock in (os.path.join(workdir, n) for n in _listdir(workdir) if n.endswith(".lck")):
        data = read_json(lock)
        try:
            pid = int(data.get("PID") or 0) if isinstance(data, dict) else 0
        except (TypeError, ValueError):
            pid = 0
        comm = ""
        with contextlib.suppress(OSError), open(f"/proc/{pid}/comm", encoding="ascii") as fh:
            comm = fh.read().strip()
        if pid <= 0 or not pid_alive(pid) or (comm and comm != "rclone"):
            stale.append(lock)
    return stale


# -- the pidfile lock: one daemon per state directory --------------------------------


def remove(path: StrPath) -> None:
    """Delete a file if it is there; a state directory that refuses is not an error here."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
