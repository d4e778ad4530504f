"""When each path runs: one schedule job per sync path, rescheduled by its run's verdict.

`schedule`'s role, in one place: it holds the jobs (one per path, `every(interval)`)
and their `next_run`; PathScheduler owns the timing. schedule has no priorities and no
backoff, and its own `run_pending`/`idle_seconds` read the wall clock, so PathScheduler
(`due`) picks due jobs lowest priority number first (1 = critical), reads time from an
injected clock (tests never sleep), and after each run sets the job's `next_run` itself:
the path's interval after a success, the backoff (15 s, 30 s, ... capped at the
interval) after a failure, none after a halt. The daemon around it (loop.Worker)
sleeps until the next `next_run`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import schedule

from coltec_worker.declaration.compiled import PlannedPath, run_order
from coltec_worker.log import Logger
from coltec_worker.sync.configure import Options
from coltec_worker.sync.job import PathRunner
from coltec_worker.sync.state import Layout, is_state_error, state_error_message
from coltec_worker.sync.status import PathStatus, iso, load_status, save_health, save_status
from coltec_worker.sync.verdict import RunVerdict


def backoff(failures: int, base: float, interval: int) -> float:
    """15, 30, 60, ... seconds, capped at the path's interval."""
    return float(min(interval, base * 2 ** max(0, failures - 1)))


class PathScheduler:
    """The configured paths' jobs: which are due, running them, their next run."""

    def __init__(
        self,
        layout: Layout,
        logger: Logger,
        options: Options,
        clock: Callable[[], datetime],
        rng: Callable[[float, float], float],
    ) -> None:
        self.layout, self.logger, self.options = layout, logger, options
        self.clock, self.rng = clock, rng
        self.scheduler = schedule.Scheduler()
        self.jobs: dict[str, schedule.Job] = {}
        self.paths: dict[str, PlannedPath] = {}
        self.path_runner: PathRunner | None = None
        self.stopping = False  # no further run starts
        self.health_file: str | None = None  # the predecessor's health.json (status.py)
        self._health_failed = False
        self._verdicts: dict[str, RunVerdict] = {}

    def schedule_jobs(self, *, delay: float) -> None:
        """One job per path; the first run after a random delay of at most `delay` seconds."""
        old = {name: job.next_run for name, job in self.jobs.items()}
        self.scheduler.clear()
        self.jobs = {}
        now = self.clock()
        for name, sync in self.paths.items():
            job = self.scheduler.every(sync.interval).seconds.do(self._job, name)
            first = old.get(name) or now + timedelta(
                seconds=self.rng(0.0, min(delay, float(sync.interval))) if delay > 0 else 0.0
            )
            job.next_run = first
            self.jobs[name] = job
            self._save_next_run(name)

    def _job(self, name: str) -> None:
        """The schedule job: never raises, so the loop and the job's schedule survive."""
        try:
            assert self.path_runner is not None
            self._verdicts[name] = self.path_runner.run(self.paths[name])
        except Exception as exc:
            import traceback  # only on this rare path: keeps the idle daemon small

            self.logger.error(
                "job_crashed", path=name, error=repr(exc), traceback=traceback.format_exc(limit=5)
            )
            status = PathStatus(name, outcome="failed", error=f"internal error: {exc!r}")
            self._verdicts[name] = RunVerdict(status, "backoff")

    def run_path(self, name: str) -> RunVerdict:
        """Run one path now and reschedule it by its verdict."""
        job = self.jobs.get(name)
        if job is not None:
            job.run()  # type: ignore[no-untyped-call]
        else:
            self._job(name)
        verdict = self._verdicts.pop(name)
        failures = verdict.status.consecutive_failures
        if job is not None:
            # schedule rescheduled the job with its own clock; use ours (the same
            # datetime.now in production, a fake one in tests) so both agree.
            interval = self.paths[name].interval
            if verdict.retry == "backoff":
                wait = backoff(failures, self.options.backoff_base, interval)
                job.next_run = self.clock() + timedelta(seconds=wait)
            elif verdict.retry == "halt":
                self.scheduler.cancel_job(job)
                del self.jobs[name]
            else:
                job.next_run = self.clock() + timedelta(seconds=interval)
        verdict.status.next_run = iso(job.next_run) if name in self.jobs and job else None
        self.save(verdict.status)
        self.save_health()
        return verdict

    def save_health(self) -> None:
        """The health file from every path's status; a failure is logged once, not raised."""
        if self.health_file is None:
            return
        statuses = [load_status(self.layout, n) for n in self.paths]
        try:
            save_health(self.health_file, statuses, int(self.clock().timestamp()))
            self._health_failed = False
        except OSError as exc:
            if not self._health_failed:
                self.logger.warning(
                    "health_unwritable",
                    file=self.health_file,
                    error=exc.strerror or str(exc),
                    hint="make its folder writable, or set XDG_DATA_HOME",
                )
            self._health_failed = True

    def save(self, status: PathStatus) -> None:
        """Best effort: a status the state directory cannot take is logged, not raised."""
        try:
            save_status(self.layout, status)
        except OSError as exc:
            if not is_state_error(exc):
                raise
            message, hint = state_error_message(self.layout.root, exc)
            self.logger.error("state_unwritable", path=status.name, error=message, hint=hint)

    def due(self) -> list[str]:
        """Names of the due paths in run order: lower priority first (compiled.run_order),
        the one waiting longest first among equals."""
        now = self.clock()
        ready = [(n, j) for n, j in self.jobs.items() if j.next_run and j.next_run <= now]
        ready.sort(key=lambda item: (self.paths[item[0]].priority, item[1].next_run, item[0]))
        return [n for n, _ in ready]

    def run_due(self) -> list[RunVerdict]:
        verdicts: list[RunVerdict] = []
        while not self.stopping:
            due = self.due()
            if not due:
                break
            verdicts.append(self.run_path(due[0]))
        return verdicts

    def run_all(self) -> list[RunVerdict]:
        """Every path now, in run order (SIGUSR1, flush and --once)."""
        order = run_order(self.paths.values())
        verdicts: list[RunVerdict] = []
        for sync in order:
            if self.stopping:
                break
            verdicts.append(self.run_path(sync.name))
        return verdicts

    def _save_next_run(self, name: str) -> None:
        status = load_status(self.layout, name)
        job = self.jobs.get(name)
        status.next_run = iso(job.next_run) if job and job.next_run else None
        self.save(status)
