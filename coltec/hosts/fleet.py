"""`cs:list` across the hosts of a hosts file: one `docker ps` per host, all in parallel.

Rows are the same as for one engine (coltec.runtime.fleet), with the host each container is
on. An unreachable host is reported as such and never fails the listing; workspaces
not found on any reachable host then show `unknown` rather than `none`, since their
container may be on the host that did not answer.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coltec.hosts.hostsfile import Host, HostsFile, load_hosts
from coltec.hosts.query import QUERY_TIMEOUT, HostInfo, query_all
from coltec.runtime.docker import Container, DockerEngine, by_workspace, containers, ping
from coltec.runtime.fleet import (
    Fleet,
    fill_containers,
    fill_from_state,
    fill_workers,
    list_fleet,
    orphans,
    worker_status,
    workspace_rows,
)
from coltec.workspaces import nexus_id


class HostsFleet(Fleet):
    hosts: list[HostInfo]

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["hosts"] = [
            {"name": i.host.name, "reachable": i.reachable, "error": i.error} for i in self.hosts
        ]
        return data


def _merge(infos: list[HostInfo]) -> tuple[dict[str, Container], dict[str, Host], list[str]]:
    """One container per workspace over all hosts (running first, then newest)."""
    best: dict[str, Container] = {}
    where: dict[str, Host] = {}
    doubles: list[str] = []
    for info in infos:
        for key, container in by_workspace(info.containers).items():
            current = best.get(key)
            if current is not None:
                doubles.append(f"{key}: containers on {where[key].name} and {info.host.name}")
                if current.running or not container.running:
                    continue
            best[key], where[key] = container, info.host
    return best, where, doubles


def list_fleet_hosts(
    hosts: HostsFile,
    root: Path | None = None,
    now: datetime | None = None,
    timeout: float = QUERY_TIMEOUT,
) -> HostsFleet:
    now = now or datetime.now(UTC)
    workspaces, rows = workspace_rows(root)
    infos = query_all(hosts.hosts, timeout, with_info=False)
    unreachable = [i for i in infos if not i.reachable]
    errors = "; ".join(f"{i.host.name}: {i.error}" for i in unreachable)
    reachable = len(unreachable) < len(infos)
    found, where, doubles = _merge(infos)
    fill_containers(rows, found, workspaces)
    for row in rows:
        if row.workspace in where:
            row.host = where[row.workspace].name
        elif unreachable:
            row.container = "unknown"
            asked = ", ".join(i.host.name for i in unreachable)
            row.note = f"not on any reachable host; not asked: {asked}"
    rows += orphans(found, workspaces, {key: host.name for key, host in where.items()})
    for double in doubles:
        key = double.split(":", 1)[0]
        for row in rows:
            if row.workspace == key:
                row.note = (row.note + "; " if row.note else "") + double.split(": ", 1)[1]
    by_id = {c.id[:12]: (where[k], c) for k, c in found.items()}

    def status_of(cid: str) -> Any:
        host, container = by_id[cid]
        return worker_status(host.engine(), container)

    fill_workers(rows, status_of, now)
    fill_from_state(rows, workspaces, now)
    fleet = HostsFleet(rows, docker=reachable, docker_error=errors)
    fleet.hosts = infos
    return fleet


def containers_everywhere(
    docker_host: str = "", timeout: float = QUERY_TIMEOUT
) -> tuple[dict[str, tuple[DockerEngine, Container]], list[str]]:
    """Each workspace's container and its engine (one `docker ps` per host, in parallel),
    and the hosts that did not answer ("host: error"), for `cs:down --all`."""
    hosts = load_hosts(docker_host=docker_host)
    if hosts.path is None:
        engine = DockerEngine.from_option(docker_host)
        ping(engine)
        found = by_workspace(containers(engine, nexus_id()))
        return {key: (engine, c) for key, c in found.items()}, []
    infos = query_all(hosts.hosts, timeout, with_info=False)
    best, where, _ = _merge(infos)
    missing = [f"{i.host.name}: {i.error}" for i in infos if not i.reachable]
    return {key: (where[key].engine(), c) for key, c in best.items()}, missing


def list_everywhere(docker_host: str = "") -> tuple[Fleet, bool]:
    """cs:list: every workspace, across the hosts of the hosts file when there is one.

    Returns the listing and whether it spans a hosts file (then it has a HOST column).
    """
    hosts = load_hosts(docker_host=docker_host)
    if hosts.path is not None:
        return list_fleet_hosts(hosts), True
    fleet = list_fleet(DockerEngine.from_option(docker_host))
    for r in fleet.rows:
        r.host = "local" if r.container not in (None, "none") else ""
    return fleet, False
