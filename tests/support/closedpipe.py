"""Run a command whose stdout reader has gone away, as at the end of `... | head`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

# Python's stdout on a pipe is block-buffered unless PYTHONUNBUFFERED is set (this
# machine's shell sets it, a user's usually does not). Buffered, a short output is
# written only by the interpreter's final flush, whose failure is "Exception ignored"
# and exit 120; unbuffered, print() itself raises. Both must end the same way.
BUFFERING = {"buffered": None, "unbuffered": "1"}


def closed_pipe_run(
    argv: list[str], env: dict[str, str], cwd: Path | None = None
) -> dict[str, tuple[int, str]]:
    """Run argv with stdout a pipe whose reader is already gone, once per stdout buffering.

    Returns {buffering: (exit code, stderr)}.
    """
    outcomes = {}
    for name, unbuffered in BUFFERING.items():
        run_env = {k: v for k, v in env.items() if k != "PYTHONUNBUFFERED"}
        if unbuffered:
            run_env["PYTHONUNBUFFERED"] = unbuffered
        read_end, write_end = os.pipe()
        os.close(read_end)
        try:
            proc = subprocess.run(
                argv,
                stdout=write_end,
                stderr=subprocess.PIPE,
                text=True,
                env=run_env,
                cwd=cwd,
                timeout=120,
            )
        finally:
            os.close(write_end)
        outcomes[name] = (proc.returncode, proc.stderr)
    return outcomes


QUIET_EXIT_1 = {name: (1, "") for name in BUFFERING}
