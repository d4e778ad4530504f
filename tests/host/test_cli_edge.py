"""coltec/cli: the edge every mise task goes through (invoke parses, errors render once)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tests.support.closedpipe import closed_pipe_run

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_reader_that_goes_away_is_exit_1_without_a_traceback() -> None:
    """`mise run cs:list --json | head -1`: the rest of the output has nowhere to go."""
    code, stderr = closed_pipe_run(
        [sys.executable, str(REPO_ROOT / "tasks.py"), "list", "--json"], dict(os.environ), REPO_ROOT
    )
    assert (code, stderr) == (1, "")
