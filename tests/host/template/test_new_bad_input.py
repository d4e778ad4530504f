"""cs:new on bad input: exit 2, one error line and a hint, no traceback, nothing created."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

Cli = Callable[..., CompletedProcess[str]]

BAD = [
    # names are matched whole: `$` alone would accept a trailing newline
    (["team/ab\n"], "name 'ab\\n' is not a slug"),
    (["team/ab\n", "--data", "project=ab"], "is not a slug"),
    (["Team/x-dev"], "org 'Team' is not a slug"),
    (["te_am/x-dev"], "org 'te_am' is not a slug"),
    (["new-org/X-dev"], "name 'X-dev' is not a slug"),
    (["new-org/" + "a" * 300], "is not a slug"),
    (["new-org/" + "a" * 64], "is not a slug"),
    (["new-org/-x"], "is not a slug"),
    (["new-org/x-dev", "--data", "sync_interval=abc"], "not a whole number"),
    (["new-org/x-dev", "--data", "persistence_enabled=maybe"], "not true or false"),
    (["new-org/x-dev", "--data", "project_type=cobol"], "not one of the choices"),
    (["new-org/x-dev", "--data", "run_args=[unclosed"], "not YAML"),
    (["new-org/x-dev", "--data", "network_tags=[a"], "not YAML"),
    (["new-org/x-dev", "--data", "environment=Prod"], "answer 'environment' is invalid"),
    (["new-org/x-dev", "--data", "environment=dev\n"], "answer 'environment' is invalid"),
    (["new-org/x-dev", "--data", "project=ab\n"], "answer 'project' is invalid"),
    (["new-org/x-dev", "--data", "base_image=img\n"], "answer 'base_image' is invalid"),
    (["new-org/x-dev", "--data", "sync_interval=5"], "at least 10"),
    (["new-org/x-dev", "--data", "nope=1"], "asks no question 'nope'"),
]


@pytest.mark.parametrize(("args", "says"), BAD, ids=[repr(a) for a, _ in BAD])
def test_bad_input_exits_2_with_one_line_and_creates_nothing(
    template_repo: Path, nexus: Path, cli: Cli, args: list[str], says: str
):
    before = sorted(p.relative_to(nexus) for p in nexus.rglob("*") if ".git" not in p.parts)
    result = cli("new", *args, "--defaults")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and says in errors[0], result.stderr
    assert any(line.strip().startswith("hint:") for line in lines), result.stderr
    after = sorted(p.relative_to(nexus) for p in nexus.rglob("*") if ".git" not in p.parts)
    assert after == before  # not even an empty org folder


@pytest.mark.parametrize("task", ["update", "validate", "adopt", "up", "exec", "logs"])
def test_a_name_too_long_for_the_file_system_is_no_traceback(
    template_repo: Path, nexus: Path, cli: Cli, task: str
):
    result = cli(task, "team/" + "a" * 300)
    assert result.returncode in (1, 2), result.stdout + result.stderr
    assert "Traceback" not in result.stderr and "error:" in result.stderr
