"""Typed errors and problems. They carry a location; rendering happens at the edges.

Records (record.py) and plain classes: the daemon and `--validate-only` import this
module, and dataclasses or typing would cost them time and memory.
"""

from __future__ import annotations

from coltec_worker.record import TYPE_CHECKING, Record

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class Problem(Record):
    """One thing wrong with a declaration, with where it is and how to fix it."""

    file: str
    line: int | None
    col: int | None
    path: str
    message: str
    hint: str = ""
    rule: str = ""

    def location(self) -> str:
        if self.line is None:
            return self.file
        return f"{self.file}:{self.line}:{self.col or 1}"

    def format(self) -> str:
        text = f"{self.location()}: {self.path}: {self.message}"
        return f"{text}\n    hint: {self.hint}" if self.hint else text

    def to_dict(self) -> dict[str, Any]:
        return self._asdict()


# The one exit-code table of every worker command (coltec-worker, its subcommands,
# coltec-validate, the compile child): each error carries its code.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_INVALID = EXIT_FAILED  # --validate-only, coltec-validate: the declaration has problems


class ColtecError(Exception):
    """Root of every error the worker raises on purpose."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigError(ColtecError):
    """The configuration cannot be used: unreadable, unparsable or invalid."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, problems: list[Problem] | None = None, hint: str = "") -> None:
        super().__init__(message, hint)
        self.problems = list(problems or [])


class UnreadableError(ConfigError):
    """The file cannot be read at all (missing, permissions, not text)."""


def print_error(message: str, hint: str = "") -> None:
    """A worker command's error, in its one text style: `error: MESSAGE`, `    hint: FIX`.

    (The daemon's own errors are JSON log lines, see log.py.)
    """
    import sys

    sys.stderr.write(f"error: {message}\n" + (f"    hint: {hint}\n" if hint else ""))


def stdout_guarded(entry: Callable[[], int]) -> int:
    """Run a command's body; a stdout reader that goes away (`... | head`) is exit 1, quietly.

    The flush happens inside the guard: a pipe is block-buffered (unless PYTHONUNBUFFERED
    is set), so short output is only written by the interpreter's own final flush, whose
    failure is "Exception ignored ... BrokenPipeError" and exit 120 — what the Python docs'
    SIGPIPE note warns of. A SystemExit (invoke's) passes through after the flush.
    """
    import sys

    try:
        try:
            return entry()
        finally:
            sys.stdout.flush()
    except BrokenPipeError:
        return reader_gone()


def reader_gone() -> int:
    """stdout's reader went away (`coltec-worker status | head -1`): no traceback, exit 1.

    Points stdout at /dev/null so the interpreter's last flush cannot fail again.
    """
    import os
    import sys

    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return EXIT_FAILED
