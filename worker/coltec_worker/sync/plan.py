"""Planning: compiled path + remote + facts -> the rclone argv of one run. Pure.

Nothing here runs a process or touches the disk; the facts it needs (is this the
path's first run? is this a recovery?) come in as arguments, so every rule about
which flags a path gets is tested without running anything.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Sequence

from coltec_worker.declaration.compiled import PlannedPath
from coltec_worker.declaration.operation import rclone_flags
from coltec_worker.declaration.remote import Remote, backup_path
from coltec_worker.errors import ConfigError
from coltec_worker.record import Record
from coltec_worker.sync.quarantine import exclude_pattern
from coltec_worker.sync.state import Layout

COMMON_FLAGS = ("--fast-list",)
# Final stats as one JSON line at NOTICE level: counts without per-file log lines.
LOG_FLAGS = ("--use-json-log", "--stats-log-level", "NOTICE")
BISYNC_FLAGS = (
    "--resilient",
    "--recover",
    "--max-lock",
    "2m",
    "--conflict-resolve",
    "newer",
    "--conflict-loser",
    "num",
)
RESYNC_FLAGS = ("--resync", "--resync-mode", "newer")


class PathPlan(Record):
    """Everything needed to run one sync path once."""

    sync: PlannedPath
    local: str
    remote: str
    argv: tuple[str, ...]
    backup_local: str | None
    backup_remote: str | None
    resync: bool = False
    # One-way syncs only: which side is the source ("local" or "remote"); an empty
    # source over a non-empty destination is refused before rclone starts.
    source: str | None = None
    # The --exclude flags of this run: the refusal check lists both sides with them.
    filters: tuple[str, ...] = ()
    # What the first-run marker binds (Remote.pair_key): the place behind the remote too.
    pair: str = ""

    @property
    def name(self) -> str:
        return self.sync.name

    @property
    def source_location(self) -> str | None:
        return {"local": self.local, "remote": self.remote}.get(self.source or "")

    @property
    def destination_location(self) -> str | None:
        return {"local": self.remote, "remote": self.local}.get(self.source or "")


def excludes(sync: PlannedPath, state_dir: str) -> list[str]:
    """The spec's excludes, plus the state directory when it lies inside the path."""
    out: list[str] = []
    for pattern in sync.exclude:
        out += ["--exclude", pattern]
    local = posixpath.normpath(sync.local)
    state = posixpath.normpath(str(state_dir))
    if state == local or state.startswith(local.rstrip("/") + "/"):
        rel = posixpath.relpath(state, local)
        out += ["--exclude", "/**" if rel == "." else f"/{rel}/**"]
    return out


def plan_path(
    sync: PlannedPath,
    remote: Remote,
    layout: Layout,
    *,
    stamp: str,
    first_run: bool = False,
    recover: bool = False,
    rclone: str = "rclone",
    skip: Sequence[str] = (),
) -> PathPlan:
    """The plan of one run of `sync`. `stamp` names this run's backup folders; `skip`
    lists files set aside (quarantine.py), excluded one by one."""
    resolved = sync.remote_path
    local = sync.local
    dest = remote.join(resolved)
    backup_local = os.path.join(layout.backups(sync.name), stamp)
    backup_remote = backup_path(remote, resolved, stamp)
    filters = excludes(sync, layout.root)
    for name in skip:
        filters += ["--exclude", exclude_pattern(name)]
    if sync.direction == "bidirectional":
        resync = first_run or recover
        argv = [
            rclone,
            "bisync",
            local,
            dest,
            "--workdir",
            str(layout.workdir(sync.name)),
            *BISYNC_FLAGS,
            "--backup-dir1",
            backup_local,
            "--backup-dir2",
            backup_remote,
            *COMMON_FLAGS,
            *rclone_flags(sync.transfers, sync.checkers, sync.bwlimit),
            *LOG_FLAGS,
            *filters,
        ]
        if resync:
            argv += RESYNC_FLAGS
        return PathPlan(
            sync,
            local,
            dest,
            tuple(argv),
            backup_local,
            backup_remote,
            resync,
            None,
            tuple(filters),
            remote.pair_key(dest),
        )
    if sync.direction in ("push-only", "pull-only"):
        # One way: rclone sync SOURCE DEST, the backups beside the destination.
        push = sync.direction == "push-only"
        source, target = (local, dest) if push else (dest, local)
        backup = backup_remote if push else backup_local
        argv = [
            rclone,
            "sync",
            source,
            target,
            "--backup-dir",
            backup,
            *COMMON_FLAGS,
            *rclone_flags(sync.transfers, sync.checkers, sync.bwlimit),
            *LOG_FLAGS,
            *filters,
        ]
        return PathPlan(
            sync,
            local,
            dest,
            tuple(argv),
            None if push else backup_local,
            backup_remote if push else None,
            source="local" if push else "remote",
            filters=tuple(filters),
            pair=remote.pair_key(dest),
        )
    raise ConfigError(
        f"sync path '{sync.name}': unknown direction {sync.direction!r}",
        hint="use bidirectional, push-only or pull-only",
    )
