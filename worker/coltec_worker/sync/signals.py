"""The daemon's signals: a handler only sets a flag; a wake-up fd ends the loop's sleep.

SIGTERM and SIGINT ask to stop, SIGHUP to reload, SIGUSR1 to run every path now. The
loop sleeps on the wake-up fd (`wait`) until its next job is due, so a signal wakes it
at once; it acts on the flags between runs, and the runner, which waits on the same
fd, forwards a stop to a running rclone.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal

from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Protocol

    class Flags(Protocol):
        stopping: bool
        reload_requested: bool
        run_all_requested: bool


def install(flags: Flags) -> int:
    """Handlers that set `flags`; returns the wake-up fd to sleep on."""
    read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)

    def stop(signum: int, _frame: Any) -> None:
        flags.stopping = True

    def hup(_signum: int, _frame: Any) -> None:
        flags.reload_requested = True

    def usr1(_signum: int, _frame: Any) -> None:
        flags.run_all_requested = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGHUP, hup)
    signal.signal(signal.SIGUSR1, usr1)
    return read_fd


def wait(wake_fd: int, timeout: float | None) -> None:
    """Sleep until `timeout` passes or a signal arrives."""
    select.select([wake_fd], [], [], None if timeout is None else max(0.0, timeout))
    with contextlib.suppress(BlockingIOError, InterruptedError):
        while os.read(wake_fd, 512):
            pass
