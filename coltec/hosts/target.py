"""Which engine a lifecycle command uses for a workspace.

Without a hosts file: the engine `--docker-host` / DOCKER_HOST names. With one:
`cs:up` places the workspace (coltec.hosts.placement); down, exec and logs go to the host
its container is on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from coltec.errors import UsageError
from coltec.hosts.claims import Claim, claiming
from coltec.hosts.hostsfile import Host, load_hosts
from coltec.hosts.placement import LABEL_HOST, Placement, host_labels, place, where_is
from coltec.hosts.remote import up_remote
from coltec.runtime.docker import DockerEngine
from coltec.runtime.lifecycle import UpResult, up
from coltec.workspaces import Workspace


@dataclass(frozen=True)
class Target:
    engine: DockerEngine
    host: Host | None = None  # None: no hosts file
    reason: str = ""  # why this host
    placement: Placement | None = None  # cs:up with a hosts file

    @property
    def where(self) -> str:
        return f"{self.host.name} ({self.reason})" if self.host else self.engine.where

    @property
    def name(self) -> str:
        """The host's name; "" without a hosts file."""
        return self.host.name if self.host is not None else ""

    @property
    def note(self) -> str:
        """What placement could not see (unreachable hosts), or ""."""
        return self.placement.note if self.placement is not None else ""

    @property
    def remote(self) -> str:
        """The host's name when it is a remote one (its workspace lives in a volume)."""
        return self.host.name if self.host is not None and not self.host.local else ""


@contextmanager
def placed(ws: Workspace, docker_host: str, requested: str = "") -> Iterator[Target]:
    """for_up() with `ws` claimed for the body: no second cs:up of it meanwhile, and other
    cs:ups' placements count it on its host (coltec.hosts.claims)."""
    with claiming(ws.key) as claim:
        yield for_up(ws, docker_host, requested, claim)


def for_up(
    ws: Workspace, docker_host: str, requested: str = "", claim: Claim | None = None
) -> Target:
    """Where `cs:up` starts `ws`: its container's host, else the placement rule's pick."""
    hosts = load_hosts(docker_host=docker_host)
    if hosts.path is None:
        if requested:
            raise UsageError(
                f"--host {requested}: there is no hosts file",
                "list your hosts in hosts.yaml at the nexus root (README § Hosts), "
                "or use --docker-host",
            )
        return Target(DockerEngine.from_option(docker_host))
    if claim is None:
        placement = place(hosts, ws.key, requested)
    else:
        with claim.placing() as others:  # placements one at a time, each seeing the others
            placement = place(hosts, ws.key, requested, claimed=others)
            claim.hold(placement.host.name)
    return Target(placement.host.engine(), placement.host, placement.reason, placement)


def where_running(ws: Workspace, docker_host: str) -> Target:
    """The engine `ws`'s container is on (down, exec, logs)."""
    hosts = load_hosts(docker_host=docker_host)
    if hosts.path is None:
        return Target(DockerEngine.from_option(docker_host))
    located = where_is(hosts, ws.key)
    return Target(located.host.engine(), located.host, "its container is there")


def start(target: Target, ws: Workspace, *, rebuild: bool) -> UpResult:
    """`devcontainer up` on the target: a remote host, a local one labelled, or the engine."""
    placement, host = target.placement, target.host
    if host is None or placement is None:
        return up(target.engine, ws, rebuild=rebuild)
    if not host.local:
        return up_remote(host, ws, rebuild=rebuild)
    existing = None if rebuild else placement.container
    return up(target.engine, ws, rebuild=rebuild, id_labels=host_labels(host, existing))


def up_placed(ws: Workspace, docker_host: str, requested: str = "") -> tuple[UpResult, Target]:
    """One `cs:up` of `ws` as the task does it: claimed, placed, started."""
    with placed(ws, docker_host, requested) as target:
        return start(target, ws, rebuild=False), target


def start_on(host: Host, ws: Workspace) -> UpResult:
    """Start `ws` on `host` (cs:move's target): a local host labels its container."""
    if host.local:
        return up(host.engine(), ws, id_labels=[f"{LABEL_HOST}={host.name}"])
    return up_remote(host, ws)
