"""Scheduling without sleeping: a fake clock, and the schedule inspected directly.

The engine is replaced by a recorder so these tests are about the loop alone: order,
backoff, survival of exceptions, first-run spreading, sleeping until the next job.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from coltec_worker.declaration.spec import SyncPath
from coltec_worker.log import Logger
from coltec_worker.sync.loop import Options, Worker
from coltec_worker.sync.scheduling import backoff
from coltec_worker.sync.state import Layout
from coltec_worker.sync.status import PathStatus, load_status
from coltec_worker.sync.verdict import RunVerdict

from tests.worker.helpers import make_spec

T0 = datetime(2030, 1, 1, 12, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


class Recorder:
    """Stands in for the path runner: records what ran, answers with scripted outcomes."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.script: dict[str, list[str]] = {}
        self.failures: dict[str, int] = {}

    def run(self, sync: SyncPath) -> RunVerdict:
        self.ran.append(sync.name)
        outcome = (self.script.get(sync.name) or ["ok"]).pop(0)
        if outcome == "raise":
            raise RuntimeError("boom")
        fails = self.failures.get(sync.name, 0) + 1 if outcome == "failed" else 0
        self.failures[sync.name] = fails
        retry = {"ok": "interval", "failed": "backoff", "critical": "halt"}[outcome]
        return RunVerdict(PathStatus(sync.name, outcome=outcome, consecutive_failures=fails), retry)


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Worker, Recorder, Clock]:
    config = make_spec(
        tmp_path,
        [
            {"name": "low", "priority": 9, "interval": 300},
            {"name": "high", "priority": 1, "interval": 300},
            {"name": "mid", "priority": 5, "interval": 60},
        ],
    )
    clock = Clock()
    w = Worker(
        config,
        Layout(tmp_path / "state"),
        Logger(open(tmp_path / "log", "a")),  # noqa: SIM115
        env={},
        home=tmp_path / "home",
        options=Options(start_delay=30, backoff_base=15),
        clock=clock,
        rng=lambda lo, hi: hi,
    )
    w.configure()
    recorder = Recorder()
    w.path_runner = recorder  # type: ignore[assignment]
    w.schedule_jobs(delay=30)
    return w, recorder, clock


def test_one_job_per_path_with_first_runs_spread_over_the_start_delay(setup) -> None:  # type: ignore[no-untyped-def]
    w, _, _ = setup
    assert sorted(w.jobs) == ["high", "low", "mid"]
    assert {j.next_run for j in w.jobs.values()} == {T0 + timedelta(seconds=30)}
    assert w.idle_seconds() == 30
    assert w.due() == []


def test_start_delay_never_exceeds_the_interval(tmp_path: Path) -> None:
    config = make_spec(tmp_path, [{"name": "fast", "interval": 30}])
    w = Worker(
        config,
        Layout(tmp_path / "s"),
        Logger(open(tmp_path / "log", "a")),  # noqa: SIM115
        env={},
        home=tmp_path,
        clock=lambda: T0,
        rng=lambda lo, hi: hi,
    )
    w.configure()
    w.schedule_jobs(delay=600)
    assert w.jobs["fast"].next_run == T0 + timedelta(seconds=30)


def test_when_several_are_due_the_lower_priority_number_runs_first(setup) -> None:  # type: ignore[no-untyped-def]
    w, rec, clock = setup
    clock.now = T0 + timedelta(seconds=31)
    assert w.due() == ["high", "mid", "low"]
    w.run_due()
    assert rec.ran == ["high", "mid", "low"]
    assert w.due() == []


def test_failures_back_off_exponentially_capped_at_the_interval(setup) -> None:  # type: ignore[no-untyped-def]
    w, rec, clock = setup
    rec.script["mid"] = ["failed"] * 4 + ["ok"]
    clock.now = T0 + timedelta(seconds=31)
    waits = []
    for _ in range(5):
        w.run_path("mid")
        waits.append((w.jobs["mid"].next_run - clock.now).total_seconds())
    assert waits[:4] == [15, 30, 60, 60]  # interval 60 caps it
    assert load_status(w.layout, "mid").consecutive_failures == 0
    assert [backoff(n, 15, 300) for n in range(1, 7)] == [15, 30, 60, 120, 240, 300]


def test_an_exception_in_a_job_neither_stops_the_loop_nor_the_jobs_schedule(setup) -> None:  # type: ignore[no-untyped-def]
    w, rec, clock = setup
    rec.script["high"] = ["raise"]
    clock.now = T0 + timedelta(seconds=31)
    w.run_due()
    assert rec.ran == ["high", "mid", "low"]
    assert "high" in w.jobs and w.jobs["high"].next_run is not None
    status = load_status(w.layout, "high")
    assert status.outcome == "failed" and "boom" in (status.error or "")


def test_a_halted_path_leaves_the_schedule_others_continue(setup) -> None:  # type: ignore[no-untyped-def]
    w, rec, clock = setup
    rec.script["high"] = ["critical"]
    clock.now = T0 + timedelta(seconds=31)
    w.run_due()
    assert "high" not in w.jobs and sorted(w.jobs) == ["low", "mid"]
    assert load_status(w.layout, "high").next_run is None


def test_the_loop_sleeps_exactly_until_the_next_job(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w, rec, clock = setup
    timeouts: list[float | None] = []

    def fake_wait(timeout: float | None) -> None:
        timeouts.append(timeout)
        clock.now += timedelta(seconds=timeout or 0)
        if len(timeouts) == 3:
            w.stopping = True

    monkeypatch.setattr(w, "wait", fake_wait)
    monkeypatch.setattr(w, "schedule_jobs", lambda delay: None)  # keep the fixture's schedule
    w.serve()
    # 30 s to the first runs; then mid (interval 60) is always next.
    assert timeouts == [30, 60, 60]
    assert rec.ran == ["high", "mid", "low", "mid"]


def test_sigusr1_flag_runs_everything_now_in_priority_order(setup, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    w, rec, _ = setup
    w.run_all_requested = True
    monkeypatch.setattr(w, "wait", lambda timeout: setattr(w, "stopping", True))
    monkeypatch.setattr(w, "schedule_jobs", lambda delay: None)
    w.serve()
    assert rec.ran == ["high", "mid", "low"]


def test_status_files_carry_the_next_run(setup) -> None:  # type: ignore[no-untyped-def]
    w, _, clock = setup
    assert load_status(w.layout, "low").next_run is not None
    clock.now = T0 + timedelta(seconds=31)
    w.run_path("low")
    status = load_status(w.layout, "low")
    assert status.outcome == "ok" and status.next_run is not None
