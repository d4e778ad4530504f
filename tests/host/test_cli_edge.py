"""coltec/cli: the edge every mise task goes through (invoke parses, errors render once)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.support.closedpipe import QUIET_EXIT_1, closed_pipe_run
from tests.support.mise import mise_run

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_reader_that_goes_away_is_exit_1_without_a_traceback() -> None:
    """`mise run cs:list --json | head -1`: the rest of the output has nowhere to go."""
    outcomes = closed_pipe_run(
        [sys.executable, str(REPO_ROOT / "tasks.py"), "list", "--json"], dict(os.environ), REPO_ROOT
    )
    assert outcomes == QUIET_EXIT_1


@pytest.mark.parametrize(
    ("task", "usage", "option"),
    [
        # a required ORG/NAME: invoke alone would take --help as it
        ("cs:move", "cs:move ORG/NAME [--options]", "--to"),
        # everything after ORG/NAME is the command's
        ("cs:exec", "cs:exec ORG/NAME [CMD...] [--options]", "--workspace"),
        ("cs:new", "cs:new ORG/NAME [--options]", "--data"),
        ("cs:validate", "cs:validate [TARGET...] [--options]", "--explain"),
        ("cs:list", "cs:list [--options]", "--json"),
    ],
)
def test_help_of_every_shape_of_task_explains_its_options(
    task: str, usage: str, option: str
) -> None:
    """`mise run TASK -- --help` (mise keeps a bare --help for itself): exit 0, no side effect."""
    result = mise_run(task, "--", "--help")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"Usage: mise run {usage}\n"), result.stdout
    assert option in result.stdout and "Docstring:" in result.stdout
    assert "error:" not in result.stderr


def test_exec_passes_help_after_the_workspace_to_the_command() -> None:
    result = mise_run("cs:exec", "--", "no/such", "ls", "--help")
    assert result.returncode == 2
    assert "no workspace 'no/such'" in result.stderr and "Docstring:" not in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["cs:new", "team/x", "--data"], "--data needs a value"),
        (["cs:new", "team/x", "--data", "--defaults"], "--data needs a value"),
        (["cs:validate", "--target"], "--target needs a value"),
        (["cs:up", "team/x", "--host"], "--host needs a value"),
        (["cs:move", "--bogus"], "unknown option --bogus"),  # not taken for the ORG/NAME
    ],
)
def test_an_option_without_its_value_is_a_usage_error(
    args: list[str], says: str, tmp_path: Path
) -> None:
    result = mise_run(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error: {says}" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "codespaces" / "team").exists()  # COLTEC_CODESPACES_DIR (conftest)
