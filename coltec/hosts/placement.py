"""Where a workspace runs: find it on any host, or choose a host for a new container.

The rule (deterministic, in this order):
1. an existing container stays where it is (a running one over a stopped one);
2. else the host given with --host;
3. else the host the workspace is pinned to (`pins:` in the hosts file);
4. else the reachable host with the most free capacity: a host without
   max_workspaces counts as unlimited; ties go to the host with fewer workspaces,
   then to the one listed first. A full host (free 0) is never chosen. Workspaces
   that other `cs:up`s of this nexus are starting count where they go (claims.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from coltec.errors import PlacementError, UsageError
from coltec.hosts.hostsfile import Host, HostsFile
from coltec.hosts.query import QUERY_TIMEOUT, HostInfo, query_all
from coltec.runtime.docker import Container, by_workspace

LABEL_HOST = "coltec.host"  # the host a container was placed on


@dataclass(frozen=True)
class Located:
    host: Host
    container: Container


@dataclass(frozen=True)
class Placement:
    host: Host
    reason: str
    container: Container | None  # the existing container, if any
    unreachable: tuple[str, ...] = ()  # hosts that could not be asked

    @property
    def note(self) -> str:
        if not self.unreachable:
            return ""
        return (
            f"not asked (unreachable): {', '.join(self.unreachable)}; if the workspace "
            "has a container there, it is not seen"
        )


def found_in(infos: Sequence[HostInfo], workspace: str) -> list[Located]:
    """The workspace's container on each reachable host that has one; running ones first."""
    found = []
    for info in infos:
        mine = by_workspace(c for c in info.containers if c.workspace == workspace)
        if workspace in mine:
            found.append(Located(info.host, mine[workspace]))
    return sorted(found, key=lambda f: not f.container.running)


def locate(
    hosts: HostsFile, workspace: str, timeout: float = QUERY_TIMEOUT
) -> tuple[list[Located], list[HostInfo]]:
    """Every host asked at once (`docker ps` only): where the workspace has containers."""
    infos = query_all(hosts.hosts, timeout, with_info=False)
    return found_in(infos, workspace), infos


def _rank(info: HostInfo) -> tuple[float, int]:
    free = float("inf") if info.free is None else float(info.free)
    return (-free, info.placed)


def choose(infos: Sequence[HostInfo]) -> tuple[HostInfo, str]:
    """The reachable host with the most free capacity (see module docstring)."""
    reachable = [i for i in infos if i.reachable and (i.free is None or i.free > 0)]
    if not reachable:
        why = "; ".join(
            f"{i.host.name}: {i.error or 'full'}" + ("" if i.error else f" ({i.placed} placed)")
            for i in infos
        )
        raise PlacementError(
            f"no host can take a new workspace ({why})",
            "free capacity (cs:down --rm or cs:move a workspace), raise max_workspaces, "
            "or name a host with --host",
        )
    best = min(reachable, key=lambda i: (_rank(i), infos.index(i)))
    free = "unlimited" if best.free is None else str(best.free)
    return best, f"most free capacity ({free} free, {best.placed} placed)"


def place(
    hosts: HostsFile,
    workspace: str,
    requested: str = "",
    timeout: float = QUERY_TIMEOUT,
    claimed: Mapping[str, set[str]] | None = None,
) -> Placement:
    """Where `cs:up` runs the workspace (see the rule above). `claimed`: host name ->
    workspaces other `cs:up`s are starting there (counted as placed)."""
    wanted = hosts.get(requested) if requested else None
    found, infos = locate(hosts, workspace, timeout)
    for info in infos:
        info.claimed = set((claimed or {}).get(info.host.name, set())) - {workspace}
    unreachable = tuple(i.host.name for i in infos if not i.reachable)
    if found:
        here = found[0]
        if wanted is not None and wanted.name != here.host.name:
            raise UsageError(
                f"{workspace} already has a container on {here.host.name}; "
                f"--host {wanted.name} does not move it",
                f"move it with `mise run cs:move {workspace} --to {wanted.name}`",
            )
        return Placement(here.host, "its container is there", here.container, unreachable)
    if wanted is not None:
        return Placement(wanted, "--host", None, unreachable)
    pinned = hosts.pinned(workspace)
    if pinned is not None:
        return Placement(pinned, f"pinned in {hosts.path}", None, unreachable)
    if len(hosts.hosts) == 1:
        return Placement(hosts.hosts[0], "the only host", None, unreachable)
    best, reason = choose(infos)
    return Placement(best.host, reason, None, unreachable)


def host_labels(host: Host, container: Container | None) -> list[str]:
    """The placement label for `cs:up` on a local host: a new container gets it, and an
    existing one is found by its own labels (one made before the hosts file has none,
    and must not be taken for missing — devcontainer would create a second one)."""
    label = f"{LABEL_HOST}={host.name}"
    if container is None:
        return [label]
    result = host.engine().run(
        ["inspect", "--format", "{{json .Config.Labels}}", container.id], timeout=60
    )
    labels = json.loads(result.stdout or "{}") or {}
    return [label] if labels.get(LABEL_HOST) == host.name else []


def where_is(hosts: HostsFile, workspace: str, timeout: float = QUERY_TIMEOUT) -> Located:
    """The host and container of an existing workspace, for down/exec/logs/rebuild/move."""
    found, infos = locate(hosts, workspace, timeout)
    if found:
        return found[0]
    missing = [f"{i.host.name} ({i.error})" for i in infos if not i.reachable]
    where = "any host" if len(infos) > 1 else infos[0].host.engine().where
    unreachable = f"; not asked (unreachable): {', '.join(missing)}" if missing else ""
    raise PlacementError(
        f"{workspace} has no container on {where}{unreachable}",
        f"start it with `mise run cs:up {workspace}`",
    )
