"""Timeouts where the work is: a slow fixture states what it costs on a machine that has
never run the suite, and every test that uses it gets that much more time.

pytest ignores marks on fixtures and on helpers (a `@pytest.mark.timeout` there does
nothing), and a session fixture's setup runs inside the timeout of whichever test
requests it first — pytest-timeout's timer covers setup, call and teardown. So:

    @pytest.fixture(scope="session")
    @budget(900)          # seconds, measured cold with headroom (README § Testing)
    def base_image(...): ...

and at collection each test's timeout becomes its own (its timeout mark, else the
`timeout` setting) plus the budget of every slow fixture among its fixtures. A warm run
is not slower for it: a timeout is only a ceiling. tests/project/test_timeouts.py checks
that pytest-timeout really applies the sum.

`step()` prints what a slow fixture is doing to the terminal, past pytest's capture, so
a cold run shows where its time goes while it goes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import pytest

F = TypeVar("F", bound=Callable[..., Any])
BUDGET_ATTR = "coltec_cold_budget"
REPORT_ENV = "COLTEC_TIMEOUT_REPORT"  # a file: what each collected test gets (project check)
_config: pytest.Config | None = None
OWN_TIMEOUT = pytest.StashKey[float]()  # a test's timeout before its fixtures' budgets


def budget(seconds: float) -> Callable[[F], F]:
    """Declare a fixture's cold cost in seconds (put it under @pytest.fixture)."""

    def declare(fixture_function: F) -> F:
        setattr(fixture_function, BUDGET_ATTR, float(seconds))
        return fixture_function

    return declare


def fixture_budgets(item: pytest.Item) -> dict[str, float]:
    """{fixture name: budget} of the slow fixtures this test uses, directly or not."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return {}
    found: dict[str, float] = {}
    for name in item.fixturenames:  # type: ignore[attr-defined]
        for fixturedef in info.name2fixturedefs.get(name, ())[-1:]:
            seconds = getattr(fixturedef.func, BUDGET_ATTR, None)
            if seconds is not None:
                found[name] = seconds
    return found


def timeout_settings(item: pytest.Item) -> Any:
    """What pytest-timeout will apply to this test (its own reading of marks and settings)."""
    from pytest_timeout import _get_item_settings  # the one reader pytest-timeout uses

    return _get_item_settings(item)


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        extra = sum(fixture_budgets(item).values())
        own = timeout_settings(item)
        if not extra or not own.timeout:  # no slow fixture, or timeouts switched off
            continue
        item.stash[OWN_TIMEOUT] = own.timeout
        # func_only=False: the timer must cover the fixtures' setup, where the work is
        mark = pytest.mark.timeout(timeout=own.timeout + extra, method=own.method, func_only=False)
        item.add_marker(mark, append=False)


def _shared_fixtures(item: pytest.Item) -> list[dict[str, Any]]:
    """The fixtures of this test that are set up once for several tests (scope wider than
    function): their setup runs inside the timeout of whichever test comes first."""
    info = getattr(item, "_fixtureinfo", None)
    found = []
    for name in item.fixturenames if info else ():  # type: ignore[attr-defined]
        for fixturedef in info.name2fixturedefs.get(name, ())[-1:]:
            if fixturedef.scope != "function":
                code = getattr(fixturedef.func, "__code__", None)
                found.append(
                    {
                        "name": name,
                        "scope": fixturedef.scope,
                        "file": code.co_filename if code else "",
                        "budget": getattr(fixturedef.func, BUDGET_ATTR, None),
                    }
                )
    return found


def pytest_collection_finish(session: pytest.Session) -> None:
    path = os.environ.get(REPORT_ENV)
    if not path:
        return
    rows = []
    for item in session.items:
        settings = timeout_settings(item)
        rows.append(
            {
                "test": item.nodeid,
                "markers": sorted({m.name for m in item.iter_markers()}),
                "timeout": settings.timeout,
                "own_timeout": item.stash.get(OWN_TIMEOUT, settings.timeout),
                "func_only": settings.func_only,
                "budgets": fixture_budgets(item),
                "shared_fixtures": _shared_fixtures(item),
            }
        )
    with open(path, "w", encoding="utf-8") as out:
        json.dump({"ini_timeout": session.config.getini("timeout"), "tests": rows}, out)


def pytest_configure(config: pytest.Config) -> None:
    global _config
    _config = config


def say(tag: str, message: str) -> None:
    """One progress line on the terminal, even while pytest captures output."""
    line = f"[{tag}] {message}\n"
    capman = _config.pluginmanager.getplugin("capturemanager") if _config else None
    if capman is None:
        sys.stderr.write(line)
        sys.stderr.flush()
        return
    with capman.global_and_fixture_disabled():
        sys.stderr.write(("\n" if _config and _config.option.verbose <= 0 else "") + line)
        sys.stderr.flush()


@contextmanager
def step(tag: str, what: str) -> Iterator[None]:
    """`[tag] what ...` before a slow step, `[tag] what: 12s` after it (or `failed after`)."""
    say(tag, f"{what} ...")
    started = time.monotonic()
    try:
        yield
    except BaseException:
        say(tag, f"{what}: failed after {time.monotonic() - started:.0f}s")
        raise
    say(tag, f"{what}: {time.monotonic() - started:.0f}s")
