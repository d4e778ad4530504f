"""The compiled plan: what the daemon runs. JSON in, typed objects out; no YAML, no rules.

The pipeline (pipeline.py) is the only producer: it checks the declaration, merges the
user config, applies and checks the environment, and resolves everything the daemon
needs — absolute local folders, the remote and its non-secret rclone environment,
resolved remote paths, schedules. The daemon gets it as JSON from a short child
process (`python -m coltec_worker.compile`), so it never parses YAML and can never
run what the validator rejects. Secrets are not in it: the crypt password is read
from the worker's environment by name when the plan is applied.

    {"plan": 1, "config": "/abs/workspace-spec.yaml", "user_config": null | "...",
     "workspace": "<name>", "user_id": "...", "persistence_enabled": bool,
     "remote": {"root", "description", "builtin", "env": {...}, "crypt_password_env", ...},
     "remotes": {"<declared name>": {...the same...}},
     "paths": [{"name", "local", "remote_path", "direction", "interval", "priority",
                "exclude": [...], "remote", "transfers", "checkers", "bwlimit"}],
     "networking": {"enabled", "hostname", "tags": [...]}, "notices": [...]}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from coltec_worker.declaration.remote import Remote, remote_from_json
from coltec_worker.errors import ConfigError
from coltec_worker.record import TYPE_CHECKING, Record

if TYPE_CHECKING:
    from typing import Any

PLAN_VERSION = 1
DIRECTIONS = ("bidirectional", "pull-only", "push-only")


class PlannedPath(Record):
    """One sync path, resolved: `remote_path` is relative to the remote's root; `remote`
    is the named remote (persistence.remotes) it uses, None for rclone_config's; the
    operation settings are the effective ones (operation.effective)."""

    name: str
    local: str
    remote_path: str
    # The schema's defaults, written out: the daemon loads this module, and reading them
    # with fields.schema_default would load the schema and its checker into the daemon
    # (test_schema pins them to the schema's). Both producers set every field anyway.
    direction: str = "bidirectional"
    interval: int = 300
    priority: int = 2
    exclude: tuple[str, ...] = ()
    remote: str | None = None  # a key of Plan.remotes; None: Plan.remote
    transfers: int = 8
    checkers: int = 16
    bwlimit: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "local": self.local,
            "remote_path": self.remote_path,
            "direction": self.direction,
            "interval": self.interval,
            "priority": self.priority,
            "exclude": list(self.exclude),
            "remote": self.remote,
            "transfers": self.transfers,
            "checkers": self.checkers,
            "bwlimit": self.bwlimit,
        }


def run_order(paths: Iterable[PlannedPath]) -> list[PlannedPath]:
    """Paths in the order they run when several are due: lower priority first (1 is
    critical), as the predecessor ran them; by name among equals, so the order is stable."""
    return sorted(paths, key=lambda p: (p.priority, p.name))


class Plan(Record):
    config: str
    remote: Remote
    paths: tuple[PlannedPath, ...] = ()
    persistence_enabled: bool = True
    user_config: str | None = None
    user_id: str = ""
    networking_enabled: bool = False
    hostname: str = ""
    tags: tuple[str, ...] = ()
    workspace: str = ""  # its name (WORKSPACE_NAME applied): the health file's folder
    # What the declaration asks that this worker does not do, said once at start (notices.py)
    notices: tuple[str, ...] = ()
    remotes: Mapping[str, Remote] = MappingProxyType({})  # named, by declared name

    def remote_of(self, path: PlannedPath) -> Remote:
        return self.remotes[path.remote] if path.remote else self.remote

    def to_json(self) -> dict[str, Any]:
        r = self.remote
        return {
            "plan": PLAN_VERSION,
            "config": self.config,
            "workspace": self.workspace,
            "notices": list(self.notices),
            "user_config": self.user_config,
            "user_id": self.user_id,
            "persistence_enabled": self.persistence_enabled,
            "remote": r.to_json(),
            "remotes": {name: named.to_json() for name, named in self.remotes.items()},
            "paths": [p.to_json() for p in self.paths],
            "networking": {
                "enabled": self.networking_enabled,
                "hostname": self.hostname,
                "tags": list(self.tags),
            },
        }


def _want(value: Any, kind: type | tuple[type, ...], what: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(f"compiled plan: {what} has the wrong type", hint="a worker bug")
    return value


def _maybe(value: Any, kind: type, what: str) -> Any:
    return None if value is None else _want(value, kind, what)


def plan_from_json(data: Any) -> Plan:
    """The Plan in `data` (the compile child's output). ConfigError if malformed."""
    _want(data, dict, "the plan")
    if data.get("plan") != PLAN_VERSION:
        raise ConfigError(
            f"compiled plan: version {data.get('plan')!r}, expected {PLAN_VERSION}",
            hint="the worker and its compile step come from different versions: reinstall",
        )
    remote = remote_from_json(data.get("remote"))
    remotes = {
        _want(name, str, "remotes key"): remote_from_json(r)
        for name, r in _want(data.get("remotes", {}), dict, "remotes").items()
    }
    paths = []
    for i, p in enumerate(_want(data.get("paths"), list, "paths")):
        _want(p, dict, f"paths[{i}]")
        direction = _want(p.get("direction"), str, "direction")
        if direction not in DIRECTIONS:
            raise ConfigError(f"compiled plan: unknown direction {direction!r}")
        named = p.get("remote")
        if named and named not in remotes:
            raise ConfigError(f"compiled plan: unknown remote {named!r}", hint="a worker bug")
        paths.append(
            PlannedPath(
                name=_want(p.get("name"), str, "name"),
                local=_want(p.get("local"), str, "local"),
                remote_path=_want(p.get("remote_path"), str, "remote_path"),
                direction=direction,
                interval=_want(p.get("interval"), int, "interval"),
                priority=_want(p.get("priority"), int, "priority"),
                exclude=tuple(
                    _want(x, str, "exclude") for x in _want(p.get("exclude"), list, "exclude")
                ),
                remote=_maybe(p.get("remote"), str, "remote"),
                transfers=_want(p.get("transfers"), int, "transfers"),
                checkers=_want(p.get("checkers"), int, "checkers"),
                bwlimit=_maybe(p.get("bwlimit"), str, "bwlimit"),
            )
        )
    net = _want(data.get("networking"), dict, "networking")
    user_config = data.get("user_config")
    return Plan(
        config=_want(data.get("config"), str, "config"),
        remote=remote,
        paths=tuple(paths),
        persistence_enabled=_want(data.get("persistence_enabled"), bool, "persistence_enabled"),
        user_config=None if user_config is None else _want(user_config, str, "user_config"),
        user_id=_want(data.get("user_id"), str, "user_id"),
        networking_enabled=_want(net.get("enabled"), bool, "networking.enabled"),
        hostname=_want(net.get("hostname"), str, "networking.hostname"),
        tags=tuple(_want(t, str, "tag") for t in _want(net.get("tags"), list, "tags")),
        workspace=_want(data.get("workspace"), str, "workspace"),
        notices=tuple(_want(n, str, "notice") for n in _want(data.get("notices"), list, "notices")),
        remotes=remotes,
    )
