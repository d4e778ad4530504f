"""What a run does beyond its one rclone command: after a failure, and around a resync.

- set_aside: quarantine the files a failed run names, so the rest of the path syncs.
- recover: a bisync critical state, said loudly, then one resync in `newer` mode.
- ensure_roots: create the sides of a resync that do not exist yet.
- settle: one ordinary bisync right after a resync.

They take what a path's runner has (the Recovers protocol below, which job.PathRunner
meets: it plans and executes the extra rclone runs) and end a run through verdict.
"""

from __future__ import annotations

from coltec_worker.record import TYPE_CHECKING
from coltec_worker.sync import quarantine, runner
from coltec_worker.sync.state import critical_listings, remove
from coltec_worker.sync.verdict import RunVerdict, finish, record_success

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from coltec_worker.declaration.compiled import PlannedPath
    from coltec_worker.sync.guards import Runs
    from coltec_worker.sync.plan import PathPlan
    from coltec_worker.sync.status import PathStatus
    from coltec_worker.sync.verdict import Ends

    class Recovers(Ends, Runs, Protocol):
        stop_requested: Callable[[], bool]

        def plan(self, sync: PlannedPath, *, recover: bool = False) -> PathPlan: ...

        def execute(self, plan: PathPlan) -> runner.RunResult: ...


def ensure_roots(run: Recovers, plan: PathPlan) -> None:
    """Create both sides of a resync that do not exist yet.

    bisync aborts on a missing root ("directory not found") — a new workspace's
    remote prefix on a local or SFTP-like backend, or a new local folder. An empty
    folder changes nothing a resync would keep: it copies the union of both sides.
    """
    for root in (plan.local, plan.remote):
        code, _, err = runner.capture([run.rclone, "mkdir", root], run.env, timeout=120)
        if code != 0:
            run.logger.warning(
                "mkdir_failed", path=plan.name, root=root, error=err.strip()[-200:] or None
            )


def settle(run: Recovers, sync: PlannedPath, status: PathStatus) -> None:
    """One ordinary bisync right after a resync.

    Files edited while a resync ran leave listings that a later delete can mistake
    for a delete-vs-change conflict and restore (seen in bench/fleet.py with 50
    workers starting at once). Settling at once closes that window; a failure here
    is only logged: the next scheduled run does the same work.
    """
    plan = run.plan(sync)
    if plan.resync or run.stop_requested():
        return
    result = run.execute(plan)
    if result.returncode == 0:
        record_success(run, plan, result, status)
    else:
        run.logger.warning(
            "settle_failed",
            path=sync.name,
            exit_code=result.returncode,
            error="; ".join(result.errors[-2:]) or None,
        )


def set_aside(
    run: Recovers, sync: PlannedPath, status: PathStatus, result: runner.RunResult
) -> list[str]:
    """Quarantine the files a failed run names; returns the newly set aside."""
    if not result.objects or result.interrupted or result.timed_out:
        return []
    new = quarantine.add(run.layout, sync.name, sync.local, result.objects)
    status.skipped = [e["file"] for e in quarantine.load(run.layout, sync.name)]
    if new:
        run.logger.warning(
            "files_skipped",
            path=sync.name,
            files=new,
            error="; ".join(result.errors[-2:]) or None,
            hint="rclone cannot transfer these files; they are left where they are and "
            "skipped until they change (rename, fix or remove them)",
        )
    return new


def recover(
    run: Recovers, sync: PlannedPath, status: PathStatus, message: str, code: int | None
) -> RunVerdict:
    """A bisync critical state: say so loudly, then one resync in `newer` mode."""
    run.logger.error("bisync_critical", path=sync.name, exit_code=code, error=message)
    plan = run.plan(sync, recover=True)
    for leftover in critical_listings(run.layout, sync.name):
        remove(leftover)
    ensure_roots(run, plan)
    result = run.execute(plan)
    if result.returncode != 0 and set_aside(run, sync, status, result):
        plan = run.plan(sync, recover=True)  # once more, without the files it named
        for leftover in critical_listings(run.layout, sync.name):
            remove(leftover)
        result = run.execute(plan)
    if result.returncode == 0:
        record_success(run, plan, result, status)
        settle(run, sync, status)
        return finish(
            run,
            status,
            "recovered",
            0,
            f"recovered from a critical state by resync (newer wins, "
            f"replaced files in backups): {message}",
            "interval",
            level="warning",
            result=result,
        )
    return finish(
        run,
        status,
        "critical",
        result.returncode,
        f"critical, recovery resync failed; retried with backoff: {message}",
        "backoff",
        level="error",
        result=result,
    )
