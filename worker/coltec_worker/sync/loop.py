"""The daemon: one thread, one schedule.Scheduler, one job per sync path.

The loop sleeps exactly until the next due job (select on the signal wake-up fd
with `idle_seconds` as timeout: no polling). Signals only set flags; the loop acts
on them between runs, and the runner forwards a stop to a running rclone.

`schedule`'s role, in one place: it holds the jobs (one per path, `every(interval)`)
and their `next_run`; the loop owns the timing. schedule has no priorities and no
backoff, and its own `run_pending`/`idle_seconds` read the wall clock, so the loop
(`due`, `idle_seconds`) picks due jobs highest priority first, sleeps on the signal fd
rather than polling, reads time from an injected clock (tests never sleep), and after
each run sets the job's `next_run` itself: the path's interval after a success, the
backoff (15 s, 30 s, ... capped at the interval) after a failure.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import signal
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

import schedule

from coltec_worker.declaration import secretfile
from coltec_worker.declaration.compiled import Plan, PlannedPath
from coltec_worker.declaration.remote import crypt_password
from coltec_worker.errors import ColtecError, ConfigError
from coltec_worker.log import Logger, Redactor
from coltec_worker.sync import runner
from coltec_worker.sync.compile_child import compile_in_child
from coltec_worker.sync.job import PathRunner, RunVerdict
from coltec_worker.sync.state import (
    Layout,
    StrPath,
    is_state_error,
    read_json,
    remove,
    state_error_message,
    write_json,
)
from coltec_worker.sync.status import PathStatus, iso, load_status, save_status

if TYPE_CHECKING:  # imported only with networking.enabled: it brings subprocess (~2 MB)
    from coltec_worker.sync.tailnet import Tailnet

TAILNET_EVERY = 60.0  # seconds between tailnet checks (one `tailscale status` when up)


class Options(NamedTuple):
    only: tuple[str, ...] = ()
    rclone: str = "rclone"
    timeout: float = 3600.0  # one rclone run
    grace: float = 30.0  # after the one SIGINT, before SIGKILL
    start_delay: float = 60.0  # at most; spreads many containers' first runs
    backoff_base: float = 15.0
    compile_in_child: bool = False  # the daemon: True (see Worker.compile)


def backoff(failures: int, base: float, interval: int) -> float:
    """15, 30, 60, ... seconds, capped at the path's interval."""
    return float(min(interval, base * 2 ** max(0, failures - 1)))


class Worker:
    def __init__(
        self,
        config: StrPath,
        layout: Layout,
        logger: Logger,
        env: Mapping[str, str] | None = None,
        home: StrPath | None = None,
        options: Options | None = None,
        clock: Callable[[], datetime] = datetime.now,  # naive local time, like schedule's
        rng: Callable[[float, float], float] = random.uniform,
    ) -> None:
        self.config, self.layout, self.logger = config, layout, logger
        self.env: Mapping[str, str] = dict(os.environ) if env is None else env
        self.home = os.path.expanduser("~") if home is None else os.fspath(home)
        self.options = Options() if options is None else options
        self.clock, self.rng = clock, rng
        self.scheduler = schedule.Scheduler()
        self.jobs: dict[str, schedule.Job] = {}
        self.paths: dict[str, PlannedPath] = {}
        self.plan: Plan | None = None
        self.path_runner: PathRunner | None = None
        self.stopping = False
        self.reload_requested = False
        self.run_all_requested = False
        self.wake_fd: int | None = None
        self._verdicts: dict[str, RunVerdict] = {}
        self.tailnet: Tailnet | None = None
        self.tailnet_next: datetime | None = None

    # -- configuration ------------------------------------------------------------------

    def compile(self) -> Plan:
        """The plan from the one pipeline: in a child process for the daemon, so it
        never loads YAML or the schema; in process for --once and --dry-run."""
        if self.options.compile_in_child:
            return compile_in_child(self.config, self.env)
        from coltec_worker.declaration.pipeline import compile_here

        return compile_here(self.config, self.env, self.home)

    def configure(self) -> None:
        """Compile and apply the configuration. Raises ConfigError, keeping the old."""
        # The secrets file again: a cs:up since the last load may have rotated a secret
        # (it then sends SIGHUP). A file gone meanwhile keeps the values already held.
        env = dict(self.env)
        if secretfile.apply(env) is None:
            self.env = env
        self.apply(self.compile())

    def apply(self, plan: Plan) -> None:
        names = [p.name for p in plan.paths]
        unknown = [n for n in self.options.only if n not in names]
        if unknown:
            raise ConfigError(
                f"--only {unknown[0]}: no sync path of that name",
                hint="names: " + ", ".join(names),
            )
        remote = plan.remote
        child_env = {**self.env, **remote.env}
        redactor = Redactor.from_env(self.env)
        secret = crypt_password(remote, self.env)
        if secret is not None:
            obscured = runner.obscure(secret, self.env, self.options.rclone)
            redactor.add(secret)
            redactor.add(obscured)
            child_env[remote.crypt_password_var] = obscured
        self.logger.redactor = redactor
        if remote.builtin:
            os.makedirs(remote.root if remote.root.startswith("/") else "/", exist_ok=True)
            self.logger.warning(
                "builtin_remote",
                remote=remote.description,
                hint="set RCLONE_REMOTE_NAME, RCLONE_BUCKET and "
                "RCLONE_CONFIG_<NAME>_* to sync to S3/R2",
            )
        paths = [p for p in plan.paths if not self.options.only or p.name in self.options.only]
        if not plan.persistence_enabled:
            self.logger.warning(
                "persistence_disabled",
                config=str(self.config),
                hint="set persistence.enabled: true to sync",
            )
            paths = []
        self.path_runner = PathRunner(
            remote,
            self.layout,
            child_env,
            self.logger,
            redactor,
            rclone=self.options.rclone,
            timeout=self.options.timeout,
            grace=self.options.grace,
            wake_fd=self.wake_fd,
            stop_requested=lambda: self.stopping,
        )
        self.plan = plan
        self.paths = {p.name: p for p in paths}
        self.tailnet = None
        if plan.networking_enabled:
            from pathlib import Path  # only with networking: the daemon does without

            from coltec_worker.sync.tailnet import Tailnet

            self.tailnet = Tailnet(
                plan.hostname,
                plan.tags,
                Path(self.layout.root),
                self.logger,
                self.env,
                sync_paths=tuple(p.local for p in plan.paths),
            )
        self.logger.info(
            "configured",
            config=str(self.config),
            remote=remote.description,
            state_dir=str(self.layout.root),
            paths=list(self.paths),
        )

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

    def reload(self) -> None:
        self.reload_requested = False
        try:
            self.configure()
        except ColtecError as exc:
            self.logger.error(
                "reload_failed",
                error=exc.message,
                hint=exc.hint,
                problems=[p.format() for p in getattr(exc, "problems", [])] or None,
                kept="the previous configuration",
            )
            return
        self.schedule_jobs(delay=self.options.start_delay)
        self.logger.info("reloaded", paths=list(self.paths))

    # -- running ----------------------------------------------------------------------

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
        return verdict

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
        """Names of the due paths, highest priority first."""
        now = self.clock()
        ready = [(n, j) for n, j in self.jobs.items() if j.next_run and j.next_run <= now]
        ready.sort(key=lambda item: (-self.paths[item[0]].priority, item[1].next_run))
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
        """Every path now, highest priority first (SIGUSR1, flush and --once)."""
        order = sorted(self.paths.values(), key=lambda s: -s.priority)
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

    # -- the daemon -------------------------------------------------------------------

    def install_signals(self) -> None:
        read_fd, write_fd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        self.wake_fd = read_fd

        def stop(signum: int, _frame: Any) -> None:
            self.stopping = True

        def hup(_signum: int, _frame: Any) -> None:
            self.reload_requested = True

        def usr1(_signum: int, _frame: Any) -> None:
            self.run_all_requested = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)
        signal.signal(signal.SIGUSR1, usr1)

    def wait(self, timeout: float | None) -> None:
        """Sleep until `timeout` passes or a signal arrives."""
        if self.wake_fd is None:
            return
        select.select([self.wake_fd], [], [], None if timeout is None else max(0.0, timeout))
        with contextlib.suppress(BlockingIOError, InterruptedError):
            while os.read(self.wake_fd, 512):
                pass

    def idle_seconds(self) -> float | None:
        runs = [j.next_run for j in self.jobs.values() if j.next_run]
        if self.tailnet is not None and self.tailnet_next is not None:
            runs.append(self.tailnet_next)
        if not runs:
            return None
        return (min(runs) - self.clock()).total_seconds()

    def tailnet_tick(self) -> None:
        """networking.enabled: join the tailnet, re-checked every TAILNET_EVERY s.

        Tailnet.ensure_up never raises and logs its failures: syncing goes on.
        """
        if self.tailnet is None or (self.tailnet_next and self.clock() < self.tailnet_next):
            return
        self.tailnet.ensure_up()
        self.tailnet_next = self.clock() + timedelta(seconds=TAILNET_EVERY)

    def serve(self) -> None:
        """Run until SIGTERM/SIGINT. configure() must have succeeded."""
        self.schedule_jobs(delay=self.options.start_delay)
        self.logger.info(
            "started",
            pid=os.getpid(),
            paths=list(self.paths),
            first_runs={n: iso(j.next_run) for n, j in self.jobs.items()},
        )
        while not self.stopping:
            if self.reload_requested:
                self.reload()
            if self.run_all_requested:
                self.run_all_requested = False
                self._flush()
            self.tailnet_tick()
            self.run_due()
            if self.stopping or self.reload_requested or self.run_all_requested:
                continue
            self.wait(self.idle_seconds())
        self.logger.info("stopped", pid=os.getpid())

    def _flush(self) -> None:
        request = read_json(self.layout.flush_request)
        with contextlib.suppress(OSError):
            remove(self.layout.flush_request)
        self.logger.info("run_all", reason="flush" if request else "SIGUSR1")
        verdicts = self.run_all()
        if isinstance(request, dict):
            complete = len(verdicts) == len(self.paths)
            answer = {
                "token": request.get("token"),
                "ok": complete and all(v.ok for v in verdicts),
                "paths": {v.status.name: v.status.outcome for v in verdicts},
            }
            try:
                write_json(self.layout.flush_done, answer)
            except OSError as exc:  # flush then times out and says so
                if not is_state_error(exc):
                    raise
                message, hint = state_error_message(self.layout.root, exc)
                self.logger.error("state_unwritable", error=message, hint=hint)


def overall_ok(verdicts: Iterable[RunVerdict]) -> bool:
    return all(v.ok for v in verdicts)
