"""The host's one subprocess helper: argv lists only, captured output, secrets redacted."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from coltec.errors import ToolFailed, ToolMissing

_SECRET_ARG = re.compile(r"(?i)(--[\w-]*(key|secret|token|password|pass)[\w-]*=)(\S+)")
_OWN_SESSION = [False]  # run(): children in their own session (shielded())


@contextmanager
def shielded() -> Iterator[None]:
    """run()'s children in their own session for the body: the terminal's Ctrl-C reaches
    this process only, which then decides (a fleet command finishes what it started,
    coltec.runtime.many) instead of every `devcontainer up` dying half-way."""
    before = _OWN_SESSION[0]
    _OWN_SESSION[0] = True
    try:
        yield
    finally:
        _OWN_SESSION[0] = before


@dataclass(frozen=True)
class Result:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


def redact(argv: Sequence[str]) -> list[str]:
    """argv with the values of secret-looking flags replaced (for messages and logs)."""
    return [_SECRET_ARG.sub(r"\1***", a) for a in argv]


def tool_dirs() -> list[str]:
    """Where the project's own tools live (.venv/bin, node_modules/.bin), searched first."""
    root = Path(__file__).resolve().parents[1]
    return [str(root / ".venv" / "bin"), str(root / "node_modules" / ".bin")]


def which(name: str) -> str | None:
    path = os.pathsep.join([*tool_dirs(), os.environ.get("PATH", "")])
    return shutil.which(name, path=path)


def require(name: str, hint: str) -> str:
    found = which(name)
    if not found:
        raise ToolMissing(f"{name} is not installed", hint)
    return found


def _text(data: bytes | str | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else data or ""


def run(
    argv: Sequence[str],
    *,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    check: bool = True,
    input: str | None = None,
    hint: str = "",
) -> Result:
    """Run argv (never a shell string); raise ToolFailed on a non-zero exit when `check`."""
    args = list(argv)
    try:
        proc = subprocess.run(
            args,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            capture_output=True,
            text=True,
            errors="replace",  # a tool's bytes that are not UTF-8 never raise
            timeout=timeout,
            input=input,
            check=False,
            start_new_session=_OWN_SESSION[0],
        )
    except FileNotFoundError:
        raise ToolMissing(f"{args[0]} is not installed", hint or "run ./dev setup") from None
    except subprocess.TimeoutExpired as exc:
        out = _text(exc.stdout)
        err = _text(exc.stderr)
        raise ToolFailed(
            redact(args), -1, out, f"timed out after {timeout}s\n{err}", hint
        ) from None
    result = Result(args, proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise ToolFailed(redact(args), proc.returncode, proc.stdout, proc.stderr, hint)
    return result


def run_attached(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    hint: str = "",
) -> int:
    """Run argv on this terminal (stdin/stdout/stderr inherited); its exit code.

    For commands the user watches or types into (`cs:exec`, `cs:logs --follow`).
    """
    args = list(argv)
    try:
        return subprocess.run(
            args, cwd=cwd, env=dict(env) if env is not None else None, check=False
        ).returncode
    except FileNotFoundError:
        raise ToolMissing(f"{args[0]} is not installed", hint or "run ./dev setup") from None
    except KeyboardInterrupt:
        return 130
