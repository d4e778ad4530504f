"""Timeouts where the work is (tests/support/budget.py), kept.

A fixture shared by several tests (scope wider than function) is set up inside the
timeout of whichever of them runs first, and pytest ignores a timeout mark on a fixture
or a helper. So every shared fixture declares its cold cost with `@budget(seconds)`,
and what pytest-timeout itself reads for each collected test must be the test's own
timeout plus those budgets, over setup and teardown too. The last test runs
pytest-timeout for real on a fixture slower than the timeout.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
TESTS = REPO / "tests"


@cache
def collected() -> dict[str, Any]:
    """What each test of the suite gets, as the collecting pytest itself reports it."""
    report = Path(os.environ.get("TMPDIR", "/tmp")) / f"coltec-timeouts-{os.getpid()}.json"
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
            cwd=REPO,
            env={**os.environ, "COLTEC_TIMEOUT_REPORT": str(report)},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
        data: dict[str, Any] = json.loads(report.read_text())
    finally:
        report.unlink(missing_ok=True)
    return data


def test_every_shared_fixture_declares_its_cold_cost() -> None:
    undeclared = {
        f"{Path(f['file']).relative_to(REPO)}: {f['name']} (scope {f['scope']})"
        for row in collected()["tests"]
        for f in row["shared_fixtures"]
        if Path(f["file"]).is_relative_to(TESTS) and f["budget"] is None
    }
    assert not undeclared, (
        "a shared fixture runs inside the timeout of its first test; declare what it costs "
        f"on a cold machine with @budget(seconds) from tests.support.budget: {sorted(undeclared)}"
    )


def test_pytest_timeout_gives_each_test_its_fixtures_budgets_over_setup() -> None:
    data = collected()
    wrong = []
    for row in data["tests"]:
        want = row["own_timeout"] + sum(row["budgets"].values())
        if row["budgets"] and (row["timeout"] != want or row["func_only"]):
            wrong.append((row["test"], row["timeout"], want, row["func_only"]))
    assert not wrong, wrong
    # the tiers whose setup is slowest are among them (the mechanism is not idle)
    slowest = {name for row in data["tests"] for name in row["budgets"]}
    assert {"lab", "base_image", "docker_engine", "coltec_image"} <= slowest, slowest
    multihost = [r for r in data["tests"] if "multihost" in r["markers"] and r["budgets"]]
    assert multihost and all(r["timeout"] > float(data["ini_timeout"]) for r in multihost)


def _decorators(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [ast.unparse(d) for d in node.decorator_list]


def test_a_timeout_mark_is_only_on_a_test_and_a_budget_only_on_a_fixture() -> None:
    """The mistake this guards against: `@pytest.mark.timeout` on a helper, which pytest
    never applies (and on a fixture, where it is ignored too)."""
    wrong = []
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            decorators = _decorators(node)
            fixture = any(d.startswith(("pytest.fixture", "fixture")) for d in decorators)
            where = f"{path.relative_to(REPO)}:{node.lineno} {node.name}"
            if any("mark.timeout" in d for d in decorators) and (
                fixture or not node.name.startswith("test")
            ):
                wrong.append(f"{where}: a timeout mark pytest never applies")
            if any(d.startswith("budget(") for d in decorators) and not fixture:
                wrong.append(f"{where}: @budget on something that is not a fixture")
    assert not wrong, wrong


INNER_TEST = """
import time

import pytest

from tests.support.budget import budget


@pytest.fixture(scope="session")
@budget({budget})
def slow_setup() -> None:
    time.sleep(1.5)  # stands for a cold build


def test_uses_it(slow_setup: None) -> None:
    pass
"""


def _run_inner(tmp_path: Path, seconds: float) -> subprocess.CompletedProcess[str]:
    (tmp_path / "pytest.ini").write_text("[pytest]\ntimeout = 1\n")
    (tmp_path / "test_inner.py").write_text(INNER_TEST.format(budget=seconds))
    plugins = ["-p", "no:cacheprovider", "-p", "tests.support.budget"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", *plugins, "-c", str(tmp_path / "pytest.ini")],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_fixture_slower_than_the_timeout_passes_with_its_budget_and_fails_without(
    tmp_path: Path,
) -> None:
    """pytest-timeout for real: timeout 1 s, a session fixture that takes 1.5 s."""
    without = _run_inner(tmp_path, 0)
    assert without.returncode == 1 and "Timeout" in without.stdout, without.stdout[-1500:]
    with_budget = _run_inner(tmp_path, 5)
    assert with_budget.returncode == 0, with_budget.stdout[-1500:]
