"""How a run ends: its verdict (the status it saves, when the path runs again).

- finish: the one way a run ends. It sets the outcome, counts consecutive failures,
  keeps rclone's figures and logs one `run_end`.
- classify: what an rclone exit code means for the retry.
- record_success: what a run that succeeded leaves behind — the first-run marker
  (bisync) and the backups the run made.

They take what a path's runner has (its state layout, logger and clock: the Ends
protocol below, which job.PathRunner meets).
"""

from __future__ import annotations

import os

from coltec_worker.record import TYPE_CHECKING, Record
from coltec_worker.sync.state import write_marker
from coltec_worker.sync.status import FAILED_OUTCOMES, PathStatus, iso

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime
    from typing import Protocol

    from coltec_worker.log import Logger
    from coltec_worker.sync.plan import PathPlan
    from coltec_worker.sync.runner import RunResult
    from coltec_worker.sync.state import Layout

    class Ends(Protocol):
        layout: Layout
        logger: Logger
        clock: Callable[[], datetime]


RETRYABLE, CONFIGURATION, FATAL = (1, 5), (2, 3, 4), (6, 7)
BACKUP_COUNTS = ("deletes", "renames", "serverSideMoves", "serverSideCopies")


class RunVerdict(Record):
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


def finish(
    run: Ends,
    status: PathStatus,
    outcome: str,
    code: int | None,
    error: str | None,
    retry: str,
    *,
    level: str = "info",
    result: RunResult | None = None,
    hint: str | None = None,
) -> RunVerdict:
    status.outcome, status.exit_code, status.error = outcome, code, error
    status.last_end = iso(run.clock())
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
    run.logger.log(
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


def record_success(run: Ends, plan: PathPlan, result: RunResult, status: PathStatus) -> None:
    if plan.sync.direction == "bidirectional":
        pair = plan.pair or plan.remote
        write_marker(run.layout, plan.name, plan.local, pair, run.clock())
    if plan.backup_local and _non_empty(plan.backup_local):
        status.add_backup(plan.backup_local)
    if plan.backup_remote and any(result.stats.get(k) for k in BACKUP_COUNTS):
        status.add_backup(plan.backup_remote)


def _non_empty(folder: str) -> bool:
    return any(files for _, _, files in os.walk(folder))
