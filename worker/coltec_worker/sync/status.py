"""Per-path status files and `coltec-worker status` (text for people, --json for cs:list).

`status --json` prints:
    {"pid": 123 | null, "running": bool, "state_dir": "...",
     "paths": [{"name", "direction", "local", "remote", "last_start", "last_end", "outcome",
                "exit_code", "next_run", "consecutive_failures", "error", "duration",
                "stats", "backups": [...], "skipped": [...]}]}
Times are ISO 8601 UTC strings or null. Outcomes: never, running, ok, recovered, failed,
timeout, interrupted, refused, blocked, critical, unknown (a corrupt status file).
"state_dir_problem": null, or why the state directory cannot be written ("full",
"read-only", ...).

The health file is the predecessor's, kept for the supervisor integrations that read it:
`$XDG_DATA_HOME/coltec-daemon/<workspace>/health.json` (else ~/.local/share/...), pretty
JSON with its fields: {"healthy", "last_success", "last_attempt", "consecutive_failures",
"last_error"}, times in Unix seconds. The worker rewrites it after every run of a path,
from all the paths' statuses (health()); the predecessor defined it as written after each
pass, a pass being every path once.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from coltec_worker.record import TYPE_CHECKING
from coltec_worker.sync.pidfile import daemon_pid
from coltec_worker.sync.state import SAFE_NAME, Layout, read_json, state_problem, write_json

if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

MAX_BACKUPS = 20
FAILED_OUTCOMES = ("failed", "timeout", "refused", "blocked", "critical")
UNHEALTHY_AFTER = 3  # consecutive failed runs (the predecessor's threshold)


def iso(when: datetime | None) -> str | None:
    """ISO 8601 UTC; a naive datetime (schedule's local time) is taken as local."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


FIELDS = (
    "name",
    "direction",
    "local",
    "remote",
    "last_start",
    "last_end",
    "outcome",
    "exit_code",
    "next_run",
    "consecutive_failures",
    "error",
    "duration",
    "stats",
    "backups",
    "skipped",  # files rclone cannot transfer, set aside until they change (quarantine.py)
)


class PathStatus:
    """One path's status (a plain class: the daemon does not load dataclasses)."""

    def __init__(
        self,
        name: str,
        direction: str = "",
        local: str = "",
        remote: str = "",
        last_start: str | None = None,
        last_end: str | None = None,
        outcome: str = "never",
        exit_code: int | None = None,
        next_run: str | None = None,
        consecutive_failures: int = 0,
        error: str | None = None,
        duration: float | None = None,
        stats: dict[str, Any] | None = None,
        backups: list[str] | None = None,
        skipped: list[str] | None = None,
    ) -> None:
        self.name, self.direction, self.local, self.remote = name, direction, local, remote
        self.last_start, self.last_end, self.outcome = last_start, last_end, outcome
        self.exit_code, self.next_run = exit_code, next_run
        self.consecutive_failures, self.error, self.duration = consecutive_failures, error, duration
        self.stats: dict[str, Any] = stats if stats is not None else {}
        self.backups: list[str] = backups if backups is not None else []
        self.skipped: list[str] = skipped if skipped is not None else []

    def __repr__(self) -> str:
        return f"PathStatus({', '.join(f'{k}={getattr(self, k)!r}' for k in FIELDS)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PathStatus) and self.to_dict() == other.to_dict()

    def add_backup(self, location: str) -> None:
        if location not in self.backups:
            self.backups = [*self.backups, location][-MAX_BACKUPS:]

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in FIELDS}


TYPES: dict[str, Any] = {
    "direction": str,
    "local": str,
    "remote": str,
    "last_start": (str, type(None)),
    "last_end": (str, type(None)),
    "outcome": str,
    "exit_code": (int, type(None)),
    "next_run": (str, type(None)),
    "consecutive_failures": int,
    "error": (str, type(None)),
    "duration": (int, float, type(None)),
    "stats": dict,
    "backups": list,
    "skipped": list,
}


def load_status(layout: Layout, name: str) -> PathStatus:
    """The path's last status; a missing one is "never", an unreadable one says so."""
    path = layout.status(name)
    data = read_json(path)
    if data is None and not os.path.exists(path):
        return PathStatus(name)
    if not isinstance(data, dict) or any(
        (k in data and not isinstance(data[k], t)) or (t is int and isinstance(data.get(k), bool))
        for k, t in TYPES.items()
    ):
        return PathStatus(
            name,
            outcome="unknown",
            error=f"the status file {path} is corrupt; the next run rewrites it",
        )
    return PathStatus(name, **{k: data[k] for k in TYPES if k in data})


def save_status(layout: Layout, status: PathStatus) -> None:
    write_json(layout.status(status.name), status.to_dict())


def collect(layout: Layout) -> dict[str, Any]:
    """Everything `status --json` prints."""
    try:
        found = os.listdir(os.path.join(layout.root, "status"))
    except OSError:
        found = []
    stems = (f.removesuffix(".json") for f in found if f.endswith(".json"))
    names = sorted(n for n in stems if SAFE_NAME.fullmatch(n))
    pid = daemon_pid(layout)
    return {
        "pid": pid,
        "running": pid is not None,
        "state_dir": str(layout.root),
        "state_dir_problem": state_problem(layout.root),
        "paths": [load_status(layout, n).to_dict() for n in names],
        "notices": _notices(layout),
    }


def _notices(layout: Layout) -> list[str]:
    found = read_json(layout.notices)
    return [n for n in found if isinstance(n, str)] if isinstance(found, list) else []


def render_text(data: dict[str, Any]) -> str:
    head = (
        f"worker: running (pid {data['pid']})" if data["running"] else "worker: not running"
    ) + f" — state {data['state_dir']}"
    lines = [head]
    problem = data.get("state_dir_problem")
    if problem:
        fix = (
            "point COLTEC_STATE_DIR at a folder"
            if problem.startswith("not a folder")
            else "free space or make it writable; it retries by itself"
        )
        lines.append(f"  state directory {problem}: the worker cannot record runs ({fix})")
    for notice in data.get("notices") or []:
        lines.append(f"  not acted upon: {notice}")
    if not data["paths"]:
        lines.append("no sync path has run yet")
    for p in data["paths"]:
        fails = p["consecutive_failures"]
        lines.append(
            f"  {p['name']:<16} {p['outcome']:<11} last {p['last_end'] or '-':<21} "
            f"next {p['next_run'] or '-':<21}"
            + (f" failures {fails}" if fails else "")
            + (f" exit {p['exit_code']}" if p["exit_code"] not in (None, 0) else "")
        )
        if p.get("error"):
            lines.append(f"      error: {p['error']}")
        if p.get("skipped"):
            shown = ", ".join(repr(f) for f in p["skipped"][:5])
            more = len(p["skipped"]) - 5
            lines.append(
                f"      skipped (rclone cannot transfer): {shown}"
                + (f" and {more} more" if more > 0 else "")
                + " — rename, fix or remove them"
            )
        for b in p.get("backups", [])[-3:]:
            lines.append(f"      backup: {b}")
    return "\n".join(lines)


def health_path(home: str, env: Mapping[str, str], workspace: str) -> str:
    """Where the predecessor's supervisor integration reads the health of `workspace`."""
    data = env.get("XDG_DATA_HOME", "")
    if not data.startswith("/"):  # the XDG rule: a relative value is ignored
        data = os.path.join(home, ".local", "share") if home.startswith("/") else "/tmp"
    return os.path.join(data, "coltec-daemon", workspace, "health.json")


def health(statuses: list[PathStatus], previous: Any, now: int) -> dict[str, Any]:
    """The health file after a run, from every path's latest status.

    A path's consecutive failures are counted by its own runs; the workspace's are the
    worst path's, so "unhealthy after 3" means one path failed 3 times in a row, as
    three failed passes did in the predecessor. `last_success` is the last time no path
    was failing."""
    failing = [s for s in statuses if s.outcome in FAILED_OUTCOMES]
    worst = max((s.consecutive_failures for s in statuses), default=0)
    before = previous.get("last_success") if isinstance(previous, dict) else None
    first = failing[0] if failing else None
    return {
        "healthy": worst < UNHEALTHY_AFTER,
        "last_success": before if first else now,
        "last_attempt": now,
        "consecutive_failures": worst,
        "last_error": f"{first.name}: {first.error or first.outcome}" if first else None,
    }


def save_health(path: str, statuses: list[PathStatus], now: int) -> None:
    """Rewrite the health file (atomically). Raises OSError; the caller logs it."""
    write_json(path, health(statuses, read_json(path), now))
