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
import fcntl
import json
import os
import re
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple


def default_state_dir(config: Path, env: Mapping[str, str]) -> Path:
    explicit = env.get("COLTEC_STATE_DIR")
    if explicit:
        return Path(explicit)
    folder = config.resolve().parent
    workspace = folder.parent if folder.name == ".devcontainer" else folder
    return workspace / ".coltec" / "state"


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


class Layout(NamedTuple):
    root: Path

    @property
    def pidfile(self) -> Path:
        return self.root / "worker.pid"

    @property
    def flush_request(self) -> Path:
        return self.root / "flush.request"

    @property
    def flush_done(self) -> Path:
        return self.root / "flush.done"

    def status(self, name: str) -> Path:
        return self.root / "status" / f"{safe_name(name)}.json"

    def workdir(self, name: str) -> Path:
        return self.root / "bisync" / safe_name(name)

    def marker(self, name: str) -> Path:
        return self.root / "markers" / f"{safe_name(name)}.json"

    def backups(self, name: str) -> Path:
        return self.root / "backups" / safe_name(name)

    def quarantine(self, name: str) -> Path:
        """Files of `name` rclone could not transfer, set aside (see quarantine.py)."""
        return self.root / "quarantine" / f"{safe_name(name)}.json"

    def running(self, name: str) -> Path:
        """The rclone this worker runs for `name` (pid, start time): found after a kill -9."""
        return self.root / "running" / f"{safe_name(name)}.json"

    def rclone_log(self, name: str) -> Path:
        return self.root / "logs" / f"{safe_name(name)}.rclone.log"


STATE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM})


def state_problem(root: Path) -> str | None:
    """Why the state directory cannot be written ("full", "read-only"...), or None."""
    probe = root
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
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


def state_error_message(root: Path, exc: OSError) -> tuple[str, str]:
    """(one-line message, hint) for a failed write under the state directory."""
    why = state_problem(root) or (exc.strerror or str(exc)).lower()
    return (
        f"the state directory {root} is {why} ({exc.strerror}): this run was not recorded",
        "free space on its filesystem (or make it writable), or set COLTEC_STATE_DIR to "
        "another folder; the worker retries by itself",
    )


def write_json(path: Path, data: Any) -> None:
    """Atomic: a reader sees the old file or the new one, never half of either."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # one writer per pid
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, default=str)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> Any:
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


def has_listings(layout: Layout, name: str) -> bool:
    workdir = layout.workdir(name)
    return workdir.is_dir() and any(
        p.name.endswith((".path1.lst", ".path2.lst")) for p in workdir.iterdir()
    )


def critical_listings(layout: Layout, name: str) -> list[Path]:
    """bisync leaves `.lst-err` files when it stopped in a critical state."""
    workdir = layout.workdir(name)
    if not workdir.is_dir():
        return []
    return sorted(p for p in workdir.iterdir() if p.name.endswith(".lst-err"))


def pid_alive(pid: int) -> bool:
    """Running (a zombie is not: its lock will never be released or renewed)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"]


def stale_bisync_locks(layout: Layout, name: str) -> list[Path]:
    """Lock files left by a killed bisync: their PID no longer runs rclone.

    Only called while this worker holds the pidfile lock, so no other worker can own them.
    """
    workdir = layout.workdir(name)
    if not workdir.is_dir():
        return []
    stale: list[Path] = []
    for lock in workdir.glob("*.lck"):
        data = read_json(lock)
        try:
            pid = int(data.get("PID") or 0) if isinstance(data, dict) else 0
        except (TypeError, ValueError):
            pid = 0
        comm = ""
        with contextlib.suppress(OSError):
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        if pid <= 0 or not pid_alive(pid) or (comm and comm != "rclone"):
            stale.append(lock)
    return stale


# -- the pidfile lock: one daemon per state directory --------------------------------


class AlreadyRunning(Exception):
    def __init__(self, pid: int | None) -> None:
        super().__init__(f"a worker is already running (pid {pid})")
        self.pid = pid


class PidLock:
    """flock on worker.pid for the life of the process; the kernel drops it on death."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise AlreadyRunning(read_pid(self.path)) from None
        self._fd = fd
        try:  # the flock is the lock; the pid inside is for people (a full disk may refuse it)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:
            pass

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def daemon_pid(layout: Layout) -> int | None:
    """The pid of the running daemon, or None (nobody holds the pidfile lock)."""
    if not layout.pidfile.exists():
        return None
    try:
        fd = os.open(layout.pidfile, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_pid(layout.pidfile)
    finally:
        os.close(fd)
    return None
