"""Run a command whose stdout reader has gone away, as at the end of `... | head`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def closed_pipe_run(
    argv: list[str], env: dict[str, str], cwd: Path | None = None
) -> tuple[int, str]:
    """Run argv with stdout a pipe whose reader is already gone (`... | head` at its end)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            argv, stdout=write_end, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd, timeout=120
        )
    finally:
        os.close(write_end)
    return proc.returncode, proc.stderr
