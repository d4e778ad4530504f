"""One run of one sync path: facts -> plan -> guards -> rclone -> verdict -> status.

PathRunner plans a path (a first run or a recovery is a resync), passes the guards,
runs rclone and reads its result; what a failure or a resync needs beyond that one
command is in recovery, and every run ends through verdict.finish in a status file,
whatever happened. Nothing here raises to the loop except programming errors (the loop
still catches those).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from coltec_worker.declaration.compiled import PlannedPath
from coltec_worker.declaration.remote import Remote
from coltec_worker.errors import ColtecError
from coltec_worker.log import Logger, Redactor
from coltec_worker.sync import guards, orphans, quarantine, recovery, runner
from coltec_worker.sync import plan as planning
from coltec_worker.sync.state import (
    Layout,
    critical_listings,
    has_listings,
    is_state_error,
    marker_ok,
    remove,
    stale_bisync_locks,
    state_error_message,
)
from coltec_worker.sync.status import PathStatus, iso, load_status, save_status
from coltec_worker.sync.verdict import RunVerdict, classify, finish, record_success


class PathRunner:
    """Runs sync paths for one loaded configuration."""

    def __init__(
        self,
        remote: Remote,
        layout: Layout,
        env: Mapping[str, str],  # the child's full environment (remote env merged in)
        logger: Logger,
        redactor: Redactor,
        *,
        rclone: str = "rclone",
        timeout: float = 3600.0,
        grace: float = 30.0,
        wake_fd: int | None = None,
        stop_requested: Callable[[], bool] = lambda: False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        remotes: Mapping[str, Remote] | None = None,  # named (persistence.remotes)
    ) -> None:
        self.remote, self.layout, self.env = remote, layout, env
        self.remotes = dict(remotes or {})
        self.logger, self.redactor, self.rclone = logger, redactor, rclone
        self.timeout, self.grace, self.wake_fd = timeout, grace, wake_fd
        self.stop_requested, self.clock = stop_requested, clock
        self.crypt_verified: set[str | None] = set()  # remotes whose password opened the bucket

    def remote_for(self, sync: PlannedPath) -> Remote:
        """The path's remote: its named one, else the rclone_config/RCLONE_* remote."""
        return self.remotes[sync.remote] if sync.remote else self.remote

    def plan(self, sync: PlannedPath, *, recover: bool = False) -> planning.PathPlan:
        stamp = self.clock().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        skip = [e["file"] for e in quarantine.load(self.layout, sync.name)]
        remote = self.remote_for(sync)
        probe = planning.plan_path(
            sync, remote, self.layout, stamp=stamp, rclone=self.rclone, skip=skip
        )
        first = sync.direction == "bidirectional" and not (
            marker_ok(self.layout, sync.name, probe.local, probe.pair)
            and has_listings(self.layout, sync.name)
        )
        if not first and not recover:
            return probe
        return planning.plan_path(
            sync,
            remote,
            self.layout,
            stamp=stamp,
            first_run=first,
            recover=recover,
            rclone=self.rclone,
            skip=skip,
        )

    def run(self, sync: PlannedPath) -> RunVerdict:
        """One run; a full or read-only state directory fails the run, not the worker."""
        try:
            return self._run(sync)
        except OSError as exc:
            if not is_state_error(exc):
                raise
            message, hint = state_error_message(self.layout.root, exc)
            status = PathStatus(sync.name, direction=sync.direction)
            status.consecutive_failures = load_status(self.layout, sync.name).consecutive_failures
            self.logger.error("state_unwritable", path=sync.name, error=message, hint=hint)
            return finish(
                self, status, "failed", None, message, "backoff", level="error", hint=hint
            )

    def _run(self, sync: PlannedPath, *, retried: bool = False) -> RunVerdict:
        status = load_status(self.layout, sync.name)
        skipped, released = quarantine.current(self.layout, sync.name, sync.local)
        if released:
            self.logger.info(
                "files_released", path=sync.name, files=released, reason="changed: tried again"
            )
        status.skipped = skipped
        status.direction = sync.direction
        try:
            plan = self.plan(sync)
        except ColtecError as exc:  # hostile or broken path: rejected before rclone starts
            return finish(self, status, "failed", None, exc.message, "halt", level="error")
        status.local, status.remote = plan.local, plan.remote
        status.last_start, status.outcome = iso(self.clock()), "running"
        save_status(self.layout, status)
        if os.path.lexists(plan.local) and not os.path.isdir(plan.local):
            return finish(
                self,
                status,
                "failed",
                None,
                f"the local path {plan.local} is a file, not a folder: rclone cannot sync it",
                "interval",
                level="error",
                hint="a sync path names a folder: move the file away, or point the path "
                "at the folder that holds it",
            )
        remote = self.remote_for(sync)
        crypt = None if sync.remote in self.crypt_verified else guards.crypt_check(self, remote)
        if crypt is None:
            self.crypt_verified.add(sync.remote)
        if crypt is not None:
            outcome, message = crypt
            retry = "interval" if outcome == "refused" else "backoff"
            return finish(self, status, outcome, None, message, retry, level="error")
        refusal = guards.refusal(self, plan)
        if refusal:
            return finish(self, status, "refused", None, refusal, "interval", level="error")
        if plan.source == "local" and not os.path.isdir(plan.local):
            # Not refused, so the destination is empty too: an empty folder is the same
            # nothing, and rclone would fail on a missing source ("directory not found").
            recovery.ensure_roots(self, plan)
        orphan = orphans.stop_orphan(self.layout.running(sync.name))
        if orphan is not None:
            self.logger.warning(
                "orphan_stopped",
                path=sync.name,
                pid=orphan,
                reason="an rclone left running by a worker that was killed",
            )
        for lock in stale_bisync_locks(self.layout, sync.name):
            self.logger.warning("stale_lock_removed", path=sync.name, lock=str(lock))
            remove(lock)
        if plan.resync:
            self.logger.info(
                "first_run_resync",
                path=sync.name,
                reason="no marker or listings for this local/remote pair",
            )
            recovery.ensure_roots(self, plan)
        try:
            result = self.execute(plan)
        except runner.RcloneMissing as exc:
            return finish(
                self,
                status,
                "failed",
                None,
                f"{exc.message} ({exc.hint})",
                "backoff",
                level="error",
            )
        if result.returncode == 0 and not result.interrupted:
            record_success(self, plan, result, status)
            if plan.resync:
                recovery.settle(self, sync, status)
            return finish(self, status, "ok", 0, None, "interval", result=result)
        if result.interrupted:
            return finish(
                self,
                status,
                "interrupted",
                result.returncode,
                "stopped by a signal; the next run recovers",
                "none",
                level="warning",
                result=result,
            )
        if result.timed_out:
            return finish(
                self,
                status,
                "timeout",
                result.returncode,
                f"rclone ran longer than {self.timeout:.0f}s",
                "backoff",
                level="error",
                result=result,
            )
        message = "; ".join(result.errors[-3:]) or f"rclone exited with {result.returncode}"
        if any("Safety abort" in e or "too many deletes" in e for e in result.errors):
            return finish(
                self,
                status,
                "blocked",
                result.returncode,
                f"bisync safety abort, nothing changed: {message}",
                "interval",
                level="error",
                result=result,
            )
        new = recovery.set_aside(self, sync, status, result)
        critical = sync.direction == "bidirectional" and (
            result.returncode == 7 or bool(critical_listings(self.layout, sync.name))
        )
        if new and not critical and not retried:  # the rest of the path, at once
            return self._run(sync, retried=True)
        denied = guards.access_denied(self, remote)
        if denied is not None:  # before any recovery: a resync cannot fix credentials
            return finish(
                self,
                status,
                "failed",
                result.returncode,
                denied,
                "backoff",
                level="error",
                result=result,
                hint="check RCLONE_CONFIG_<REMOTE>_ACCESS_KEY_ID and _SECRET_ACCESS_KEY; "
                "the worker retries with backoff",
            )
        if critical:
            return recovery.recover(self, sync, status, message, result.returncode)
        kind = classify(result.returncode)
        return finish(
            self,
            status,
            "failed",
            result.returncode,
            f"{kind}: {message}",
            "interval" if kind == "fatal" else "backoff",
            level="error",
            result=result,
        )

    def execute(self, plan: planning.PathPlan) -> runner.RunResult:
        """One rclone run of `plan` (recovery's extra runs come through here too)."""
        self.logger.info("run_start", path=plan.name, argv=list(plan.argv), resync=plan.resync)
        return runner.run(
            plan.argv,
            self.env,
            log_path=self.layout.rclone_log(plan.name),
            timeout=self.timeout,
            grace=self.grace,
            wake_fd=self.wake_fd,
            stop_requested=self.stop_requested,
            redactor=self.redactor,
            record=self.layout.running(plan.name),
        )
