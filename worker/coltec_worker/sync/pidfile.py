"""The daemon's pidfile: one worker per state directory, held by flock for its whole life
(the kernel drops the lock when the process dies, so a stale worker.pid is harmless)."""

from __future__ import annotations

import fcntl
import os

from coltec_worker.errors import EXIT_OK, ColtecError
from coltec_worker.sync.state import Layout, StrPath


class AlreadyRunning(ColtecError):
    """Another worker holds this state directory's pidfile (a second daemon exits 0)."""

    exit_code = EXIT_OK

    def __init__(self, pid: int | None) -> None:
        super().__init__(f"a worker is already running (pid {pid})")
        self.pid = pid


class PidLock:
    """flock on worker.pid for the life of the process; the kernel drops it on death."""

    def __init__(self, path: StrPath) -> None:
        self.path = os.fspath(path)
        self._fd: int | None = None

    def acquire(self) -> None:
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
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


def read_pid(path: StrPath) -> int | None:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def daemon_pid(layout: Layout) -> int | None:
    """The pid of the running daemon, or None (nobody holds the pidfile lock)."""
    if not os.path.exists(layout.pidfile):
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
