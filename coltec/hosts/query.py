"""Ask every host at once: is it reachable, what is it, which coltec containers run there.

Each host is asked in its own thread with its own timeout, so an unreachable or hung
host costs at most that timeout and never fails the others; its answer then says
why it could not be asked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from coltec.errors import ColtecError, UsageError
from coltec.hosts.hostsfile import Host, load_hosts
from coltec.runtime.docker import Container, containers
from coltec.workspaces import nexus_id

QUERY_TIMEOUT = 8.0  # ssh connection set-up plus one engine round trip, with slack
T = TypeVar("T")


@dataclass
class HostInfo:
    host: Host
    reachable: bool = False
    error: str = ""
    version: str = ""
    cpus: int | None = None
    memory_bytes: int | None = None
    containers: list[Container] = field(default_factory=list)
    seconds: float = 0.0
    claimed: set[str] = field(default_factory=set)  # going here by a cs:up under way

    @property
    def placed(self) -> int:
        """Workspaces placed here: their containers, running or stopped, and the ones
        other `cs:up`s are starting here right now (coltec.hosts.claims)."""
        return len({c.workspace for c in self.containers} | self.claimed)

    @property
    def running(self) -> int:
        return len({c.workspace for c in self.containers if c.running})

    @property
    def free(self) -> int | None:
        """Free capacity; None: no limit (no max_workspaces)."""
        if self.host.max_workspaces is None:
            return None
        return max(0, self.host.max_workspaces - self.placed)

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.host.to_dict(),
            "reachable": self.reachable,
            "error": self.error,
            "engine_version": self.version,
            "cpus": self.cpus,
            "memory_bytes": self.memory_bytes,
            "workspaces": self.placed,
            "running_workspaces": self.running,
            "free": self.free,
            "query_seconds": round(self.seconds, 2),
        }


def _first_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


MAX_INFO = 1 << 20  # `docker info` is a few KiB; a MiB is an engine not to be believed


@dataclass
class EngineFacts:
    """What `docker info --format '{{json .}}'` said, each field of the type it must
    have; `unusable` says why the answer as a whole was not one."""

    version: str = ""
    cpus: int | None = None
    memory: int | None = None
    errors: list[str] = field(default_factory=list)
    unusable: str = ""


def _count(value: object) -> int | None:
    """A non-negative whole number, or None: JSON may say "8", 8.5, true, [8] or 1e400."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << 63:
        return value
    return None


def engine_facts(stdout: str) -> EngineFacts:
    """The facts of one `docker info` answer, whatever an engine (or an impostor on the
    way, a proxy, a hostile ssh host) printed: never an exception."""
    if len(stdout) > MAX_INFO:
        return EngineFacts(unusable=f"unexpected answer: {len(stdout)} characters from docker info")
    text = stdout.strip()
    try:
        data = json.loads(text) if text.startswith("{") else None
    except (ValueError, RecursionError) as exc:
        return EngineFacts(unusable=f"unexpected answer: {str(exc)[:200]}")
    if not isinstance(data, dict):
        return EngineFacts(unusable="unexpected answer: not a JSON object" if text else "")
    errors = data.get("ServerErrors") or []
    if not isinstance(errors, list):
        errors = [errors]
    version = data.get("ServerVersion")
    if version is not None and not isinstance(version, str):
        return EngineFacts(unusable="unexpected answer: ServerVersion is not text")
    return EngineFacts(
        version=(version or "")[:100],
        cpus=_count(data.get("NCPU")),
        memory=_count(data.get("MemTotal")),
        errors=[str(e)[:500] for e in errors[:10]],
    )


def query(host: Host, timeout: float = QUERY_TIMEOUT, *, with_info: bool = True) -> HostInfo:
    """One host's engine facts and coltec containers; errors become `error`, never raised."""
    info = HostInfo(host)
    engine = host.engine()
    started = time.monotonic()
    deadline = started + timeout
    try:
        if with_info:
            result = engine.run(["info", "--format", "{{json .}}"], timeout=timeout, check=False)
            facts = engine_facts(result.stdout)
            if result.returncode != 0 or facts.errors or not facts.version:
                why = "; ".join(facts.errors) or _first_line(result.stderr) or facts.unusable
                raise ColtecError(why or "no answer")
            info.version, info.cpus, info.memory_bytes = facts.version, facts.cpus, facts.memory
        remaining = max(1.0, deadline - time.monotonic())
        info.containers = containers(engine, nexus_id(), timeout=remaining)
        info.reachable = True
    except ColtecError as exc:
        message = exc.message
        if "timed out" in message:
            message = f"no answer within {timeout:.0f}s"
        info.error = _first_line(message) if "\n" in message else message
        # the docker CLI names an ssh:// engine by a placeholder URL in its messages
        info.error = info.error.replace("http://docker.example.com", host.docker_host)
    except ValueError as exc:  # unparsable output
        info.error = f"unexpected answer: {exc}"
    info.seconds = time.monotonic() - started
    return info


def in_parallel(items: Sequence[T], fn: Callable[[T], Any]) -> list[Any]:
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(items))) as pool:
        return list(pool.map(fn, items))


def query_all(
    hosts: Sequence[Host], timeout: float = QUERY_TIMEOUT, *, with_info: bool = True
) -> list[HostInfo]:
    """Every host, in parallel, in the hosts file's order."""
    return in_parallel(hosts, lambda h: query(h, timeout, with_info=with_info))


def ask_every_host(timeout: int = 0) -> tuple[list[HostInfo], str | None]:
    """cs:hosts: every host of the hosts file (else the local engine), asked in parallel,
    each within `timeout` seconds (0: QUERY_TIMEOUT); and the hosts file's path."""
    if timeout < 0:
        raise UsageError(f"--timeout needs a whole number of seconds, got '{timeout}'", "e.g. 5")
    found = load_hosts()
    infos = query_all(found.hosts, float(timeout or QUERY_TIMEOUT))
    return infos, str(found.path) if found.path else None
