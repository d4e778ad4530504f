"""The daemon: one thread, one schedule.Scheduler, one job per sync path.

Worker is the daemon around a PathScheduler (scheduling: which path is due, and when
it runs next). It takes its paths from a compiled plan (configure) and reloads them on
SIGHUP; it sleeps exactly until the next due job or tailnet check (select on the
signal wake-up fd with `idle_seconds` as timeout: no polling). Signals only set flags
(signals); the loop acts on them between runs, and the runner forwards a stop to a
running rclone. SIGUSR1 runs every path now and answers a pending flush request.
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta

from coltec_worker.declaration.compiled import Plan
from coltec_worker.errors import ColtecError
from coltec_worker.log import Logger
from coltec_worker.record import TYPE_CHECKING
from coltec_worker.sync import signals
from coltec_worker.sync.configure import Options as Options  # re-exported: cli, tests
from coltec_worker.sync.configure import compile_plan, prepare, with_secrets
from coltec_worker.sync.scheduling import PathScheduler
from coltec_worker.sync.state import (
    Layout,
    StrPath,
    is_state_error,
    read_json,
    remove,
    state_error_message,
    write_json,
)
from coltec_worker.sync.status import health_path, iso
from coltec_worker.sync.verdict import RunVerdict

if TYPE_CHECKING:
    from coltec_worker.sync.tailnet import Tailnet

TAILNET_EVERY = 60.0  # seconds between tailnet checks (one `tailscale status` when up)


class Worker(PathScheduler):
    """The daemon around the paths' schedule: configuration, signals, sleep, flush, tailnet."""

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
        super().__init__(layout, logger, Options() if options is None else options, clock, rng)
        self.config = config
        self.env: Mapping[str, str] = dict(os.environ) if env is None else env
        self.home = os.path.expanduser("~") if home is None else os.fspath(home)
        self.plan: Plan | None = None
        self.reload_requested = False
        self.run_all_requested = False
        self.wake_fd: int | None = None
        self.tailnet: Tailnet | None = None
        self.tailnet_next: datetime | None = None

    # -- configuration ------------------------------------------------------------------

    def compile(self) -> Plan:
        """The plan: compiled in a child for the daemon, in process for --once/--dry-run."""
        return compile_plan(
            self.config, self.env, self.home, in_child=self.options.compile_in_child
        )

    def configure(self) -> None:
        """Compile and apply the configuration. Raises ConfigError, keeping the old."""
        self.env = with_secrets(self.env)
        self.apply(self.compile())

    def apply(self, plan: Plan) -> None:
        """Run `plan` from now on. Raises ConfigError (--only), keeping the old."""
        setup = prepare(
            plan,
            self.options,
            config=self.config,
            layout=self.layout,
            logger=self.logger,
            env=self.env,
            wake_fd=self.wake_fd,
            stop_requested=lambda: self.stopping,
        )
        self.paths, self.path_runner, self.tailnet = setup.paths, setup.path_runner, setup.tailnet
        if self.plan is None or self.plan.notices != plan.notices:
            self.tell_notices(plan.notices)
        self.plan = plan
        if plan.workspace:
            self.health_file = health_path(self.home, self.env, plan.workspace)

    def tell_notices(self, notices: tuple[str, ...]) -> None:
        """Say once (at start, and on a reload that changes them) what the declaration
        asks that this worker does not do; `status` shows them from the state folder."""
        for notice in notices:
            self.logger.info("not_acted_upon", notice=notice)
        with contextlib.suppress(OSError):  # best effort, as every status file
            write_json(self.layout.notices, list(notices))

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

    # -- the daemon -------------------------------------------------------------------

    def install_signals(self) -> None:
        self.wake_fd = signals.install(self)

    def wait(self, timeout: float | None) -> None:
        """Sleep until `timeout` passes or a signal arrives."""
        if self.wake_fd is not None:
            signals.wait(self.wake_fd, timeout)

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
