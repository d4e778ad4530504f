"""One run of one sync path: facts -> plan -> guards -> rclone -> verdict -> status.

Every run ends in a status file, whatever happened; nothing here raises to the loop
except programming errors (the loop still catches those).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from coltec_worker.declaration.compiled import PlannedPath
from coltec_worker.declaration.remote import Remote
from coltec_worker.errors import ColtecError
from coltec_worker.log import Logger, Redactor
from coltec_worker.sync import guards, orphans, quarantine, runner
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
    write_marker,
)
from coltec_worker.sync.status import FAILED_OUTCOMES, PathStatus, iso, load_status, save_status

RETRYABLE, CONFIGURATION, FATAL = (1, 5), (2, 3, 4), (6, 7)
BACKUP_COUNTS = ("deletes", "renames", "serverSideMoves", "serverSideCopies")


class RunVerdict(NamedTuple):
    status: PathStatus
    retry: str  # "interval" | "backoff" | "halt" | "none"

    @property
    def ok(self) -> bool:
        return self.status.outcome in ("ok", "recovered")


def classify(code: int | None) -> str:
    if code in RETRYABLE or code is None:
        return "retryable"
    if code in CONFIGURATION:
        return "configuration"
    if code in FATAL:
        return "fatal"
    return "retryable"


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
    ) -> None:
        self.remote, self.layout, self.env = remote, layout, env
        self.logger, self.redactor, self.rclone = logger, redactor, rclone
        self.timeout, self.grace, self.wake_fd = timeout, grace, wake_fd
        self.stop_requested, self.clock = stop_requested, clock
        self.crypt_verified = False  # the password opened the bucket (see crypt_guard)

    def plan(self, sync: PlannedPath, *, recover: bool = False) -> planning.PathPlan:
        stamp = self.clock().astimezone(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        skip = [e["file"] for e in quarantine.load(self.layout, sync.name)]
        probe = planning.plan_path(
            sync, self.remote, self.layout, stamp=stamp, rclone=self.rclone, skip=skip
        )
        first = sync.direction == "bidirectional" and not (
            marker_ok(self.layout, sync.name, probe.local, self.remote.pair_key(probe.remote))
            and has_listings(self.layout, sync.name)
        )
        if not first and not recover:
            return probe
        return planning.plan_path(
            sync,
            self.remote,
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
            return self._finish(
                status, "failed", None, message, "backoff", level="error", hint=hint
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
            return self._finish(status, "failed", None, exc.message, "halt", level="error")
        status.local, status.remote = plan.local, plan.remote
        status.last_start, status.outcome = iso(self.clock()), "running"
        save_status(self.layout, status)
        if os.path.lexists(plan.local) and not os.path.isdir(plan.local):
            return self._finish(
                status,
                "failed",
                None,
                f"the local path {plan.local} is a file, not a folder: rclone cannot sync it",
                "interval",
                level="error",
                hint="a sync path names a folder: move the file away, or point the path "
                "at the folder that holds it",
            )
        crypt = None if self.crypt_verified else guards.crypt_check(self)
        self.crypt_verified = crypt is None
        if crypt is not None:
            outcome, message = crypt
            retry = "interval" if outcome == "refused" else "backoff"
            return self._finish(status, outcome, None, message, retry, level="error")
        refusal = guards.refusal(self, plan)
        if refusal:
            return self._finish(status, "refused", None, refusal, "interval", level="error")
        if plan.source == "local" and not os.path.isdir(plan.local):
            # Not refused, so the destination is empty too: an empty folder is the same
            # nothing, and rclone would fail on a missing source ("directory not found").
            self._ensure_roots(plan)
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
            self._ensure_roots(plan)
        try:
            result = self._execute(plan)
        except runner.RcloneMissing as exc:
            return self._finish(
                status, "failed", None, f"{exc.message} ({exc.hint})", "backoff", level="error"
            )
        if result.returncode == 0 and not result.interrupted:
            self._record_success(plan, result, status)
            if plan.resync:
                self._settle(sync, status)
            return self._finish(status, "ok", 0, None, "interval", result=result)
        if result.interrupted:
            return self._finish(
                status,
                "interrupted",
                result.returncode,
                "stopped by a signal; the next run recovers",
                "none",
                level="warning",
                result=result,
            )
        if result.timed_out:
            return self._finish(
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
            return self._finish(
                status,
                "blocked",
                result.returncode,
                f"bisync safety abort, nothing changed: {message}",
                "interval",
                level="error",
                result=result,
            )
        new = self._set_aside(sync, status, result)
        critical = sync.direction == "bidirectional" and (
            result.returncode == 7 or bool(critical_listings(self.layout, sync.name))
        )
        if new and not critical and not retried:  # the rest of the path, at once
            return self._run(sync, retried=True)
        denied = guards.access_denied(self)
        if denied is not None:  # before any recovery: a resync cannot fix credentials
            return self._finish(
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
        if sync.direction == "bidirectional" and (
            result.returncode == 7 or critical_listings(self.layout, sync.name)
        ):
            return self._recover(sync, status, message, result.returncode)
        kind = classify(result.returncode)
        return self._finish(
            status,
            "failed",
            result.returncode,
            f"{kind}: {message}",
            "interval" if kind == "fatal" else "backoff",
            level="error",
            result=result,
        )

    # -- pieces ---------------------------------------------------------------------

    def _execute(self, plan: planning.PathPlan) -> runner.RunResult:
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

    def _ensure_roots(self, plan: planning.PathPlan) -> None:
        """Create both sides of a resync that do not exist yet.

        bisync aborts on a missing root ("directory not found") — a new workspace's
        remote prefix on a local or SFTP-like backend, or a new local folder. An empty
        folder changes nothing a resync would keep: it copies the union of both sides.
        """
        for root in (plan.local, plan.remote):
            code, _, err = runner.capture([self.rclone, "mkdir", root], self.env, timeout=120)
            if code != 0:
                self.logger.warning(
                    "mkdir_failed", path=plan.name, root=root, error=err.strip()[-200:] or None
                )

    def _settle(self, sync: PlannedPath, status: PathStatus) -> None:
        """One ordinary bisync right after a resync.

        Files edited while a resync ran leave listings that a later delete can mistake
        for a delete-vs-change conflict and restore (seen in bench/fleet.py with 50
        workers starting at once). Settling at once closes that window; a failure here
        is only logged: the next scheduled run does the same work.
        """
        plan = self.plan(sync)
        if plan.resync or self.stop_requested():
            return
        result = self._execute(plan)
        if result.returncode == 0:
            self._record_success(plan, result, status)
        else:
            self.logger.warning(
                "settle_failed",
                path=sync.name,
                exit_code=result.returncode,
                error="; ".join(result.errors[-2:]) or None,
            )

    def _set_aside(
        self, sync: PlannedPath, status: PathStatus, result: runner.RunResult
    ) -> list[str]:
        """Quarantine the files a failed run names; returns the newly set aside."""
        if not result.objects or result.interrupted or result.timed_out:
            return []
        new = quarantine.add(self.layout, sync.name, sync.local, result.objects)
        status.skipped = [e["file"] for e in quarantine.load(self.layout, sync.name)]
        if new:
            self.logger.warning(
                "files_skipped",
                path=sync.name,
                files=new,
                error="; ".join(result.errors[-2:]) or None,
                hint="rclone cannot transfer these files; they are left where they are and "
                "skipped until they change (rename, fix or remove them)",
            )
        return new

    def _record_success(
        self, plan: planning.PathPlan, result: runner.RunResult, status: PathStatus
    ) -> None:
        if plan.sync.direction == "bidirectional":
            pair = self.remote.pair_key(plan.remote)
            write_marker(self.layout, plan.name, plan.local, pair, self.clock())
        if plan.backup_local and _non_empty(plan.backup_local):
            status.add_backup(plan.backup_local)
        if plan.backup_remote and any(result.stats.get(k) for k in BACKUP_COUNTS):
            status.add_backup(plan.backup_remote)

    def _recover(
        self, sync: PlannedPath, status: PathStatus, message: str, code: int | None
    ) -> RunVerdict:
        """A bisync critical state: say so loudly, then one resync in `newer` mode."""
        self.logger.error("bisync_critical", path=sync.name, exit_code=code, error=message)
        plan = self.plan(sync, recover=True)
        for leftover in critical_listings(self.layout, sync.name):
            remove(leftover)
        self._ensure_roots(plan)
        result = self._execute(plan)
        if result.returncode != 0 and self._set_aside(sync, status, result):
            plan = self.plan(sync, recover=True)  # once more, without the files it named
            for leftover in critical_listings(self.layout, sync.name):
                remove(leftover)
            result = self._execute(plan)
        if result.returncode == 0:
            self._record_success(plan, result, status)
            self._settle(sync, status)
            return self._finish(
                status,
                "recovered",
                0,
                f"recovered from a critical state by resync (newer wins, "
                f"replaced files in backups): {message}",
                "interval",
                level="warning",
                result=result,
            )
        return self._finish(
            status,
            "critical",
            result.returncode,
            f"critical, recovery resync failed; retried with backoff: {message}",
            "backoff",
            level="error",
            result=result,
        )

    def _finish(
        self,
        status: PathStatus,
        outcome: str,
        code: int | None,
        error: str | None,
        retry: str,
        *,
        level: str = "info",
        result: runner.RunResult | None = None,
        hint: str | None = None,
    ) -> RunVerdict:
        status.outcome, status.exit_code, status.error = outcome, code, error
        status.last_end = iso(self.clock())
        if outcome in FAILED_OUTCOMES:
            status.consecutive_failures += 1
        elif outcome != "interrupted":
            status.consecutive_failures = 0
        if result is not None:
            status.duration = round(result.duration, 3)
            status.stats = {
                k: result.stats[k]
                for k in ("transfers", "bytes", "deletes", "renames", "checks", "errors")
                if k in result.stats
            }
        self.logger.log(
            level,
            "run_end",
            path=status.name,
            outcome=outcome,
            exit_code=code,
            duration=status.duration if result else None,
            error=error,
            hint=hint,
            **status.stats,
            failures=status.consecutive_failures or None,
        )
        return RunVerdict(status, retry)


def _non_empty(folder: str) -> bool:
    return any(files for _, _, files in os.walk(folder))
