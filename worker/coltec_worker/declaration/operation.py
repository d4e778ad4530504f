"""Operation settings of one sync path: its own transfers/checkers/bwlimit, else
persistence.defaults', else the schema's defaults (8, 16, no limit) — the predecessor's
cascade — and the rclone flags they become. Pure; the plan (sync/plan.py) adds the
flags to every rclone command of the path."""

from __future__ import annotations

from coltec_worker.record import TYPE_CHECKING, Record

if TYPE_CHECKING:  # the daemon uses rclone_flags only: it loads no spec records
    from coltec_worker.declaration.spec import SyncPath
    from coltec_worker.declaration.storagespec import SyncDefaults


class Operation(Record):
    transfers: int
    checkers: int
    bwlimit: str | None = None


def effective(defaults: SyncDefaults, sync: SyncPath) -> Operation:
    """The path's own value where it sets one, else the workspace's defaults."""
    return Operation(
        transfers=defaults.transfers if sync.transfers is None else sync.transfers,
        checkers=defaults.checkers if sync.checkers is None else sync.checkers,
        bwlimit=defaults.bwlimit if sync.bwlimit is None else sync.bwlimit,
    )


def rclone_flags(transfers: int, checkers: int, bwlimit: str | None) -> list[str]:
    """`--transfers N --checkers N [--bwlimit=RATE]`: one argv element per value, and
    the rate joined with '=' so no value can ever be read as another flag."""
    flags = ["--transfers", str(transfers), "--checkers", str(checkers)]
    if bwlimit is not None:
        flags.append(f"--bwlimit={bwlimit}")
    return flags
