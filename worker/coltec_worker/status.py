"""Per-path status files and `coltec-worker status` (text for people, --json for cs:list).

`status --json` prints:
    {"pid": 123 | null, "running": bool, "state_dir": "...",
     "paths": [{"name", "direction", "local", "remote", "last_start", "last_end", "outcome",
                "exit_code", "next_run", "consecutive_failures", "error", "duration",
                "stats", "backups": [...]}]}
Times are ISO 8601 UTC strings or null. Outcomes: never, running, ok, recovered, failed,
timeout, interrupted, refused, blocked, critical.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from .state import SAFE_NAME, Layout, daemon_pid, read_json, write_json

MAX_BACKUPS = 20
FAILED_OUTCOMES = ("failed", "timeout", "refused", "blocked", "critical")


def iso(when: datetime | None) -> str | None:
    """ISO 8601 UTC; a naive datetime (schedule's local time) is taken as local."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class PathStatus:
    name: str
    direction: str = ""
    local: str = ""
    remote: str = ""
    last_start: str | None = None
    last_end: str | None = None
    outcome: str = "never"
    exit_code: int | None = None
    next_run: str | None = None
    consecutive_failures: int = 0
    error: str | None = None
    duration: float | None = None
    stats: dict[str, Any] = field(default_factory=dict)
    backups: list[str] = field(default_factory=list)

    def add_backup(self, location: str) -> None:
        if location not in self.backups:
            self.backups = [*self.backups, location][-MAX_BACKUPS:]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_status(layout: Layout, name: str) -> PathStatus:
    data = read_json(layout.status(name))
    if not isinstance(data, dict):
        return PathStatus(name)
    known = PathStatus.__dataclass_fields__
    return PathStatus(**{k: v for k, v in data.items() if k in known and k != "name"}, name=name)


def save_status(layout: Layout, status: PathStatus) -> None:
    write_json(layout.status(status.name), status.to_dict())


def collect(layout: Layout) -> dict[str, Any]:
    """Everything `status --json` prints."""
    folder = layout.root / "status"
    found = folder.glob("*.json") if folder.is_dir() else ()
    names = sorted(p.stem for p in found if SAFE_NAME.fullmatch(p.stem))
    pid = daemon_pid(layout)
    return {
        "pid": pid,
        "running": pid is not None,
        "state_dir": str(layout.root),
        "paths": [load_status(layout, n).to_dict() for n in names],
    }


def render_text(data: dict[str, Any]) -> str:
    head = (
        f"worker: running (pid {data['pid']})" if data["running"] else "worker: not running"
    ) + f" — state {data['state_dir']}"
    lines = [head]
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
        for b in p.get("backups", [])[-3:]:
            lines.append(f"      backup: {b}")
    return "\n".join(lines)
