"""The Docker engine as the lifecycle sees it: reachability, and coltec's containers.

Every call goes through the `docker` CLI (argv lists via coltec.proc), so DOCKER_HOST,
contexts and TLS settings behave exactly as they do for the user's own `docker`.
The whole fleet is read with ONE `docker ps`, however many workspaces there are.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from coltec import proc
from coltec.errors import DockerUnavailable, LifecycleError, ToolFailed, ToolMissing
from coltec.workspaces import STATE_RELPATH, Workspace, nexus_id

LABEL_WORKSPACE = "coltec.workspace"
LABEL_CONFIG_HASH = "coltec.config-hash"
# Which nexus (clone of the repository) a container belongs to: two clones on one
# engine never see or touch each other's containers of the same ORG/NAME.
LABEL_NEXUS = "coltec.nexus"

PING_TIMEOUT = 15.0
START_HINT = (
    "start an engine: `sudo systemctl start docker`, or as root "
    "`dockerd --storage-driver=vfs --iptables=false --bridge=none &`; "
    "or point --docker-host / DOCKER_HOST at a running one"
)
INSTALL_HINT = "install Docker (as root: `apt-get install docker.io`), or run ./dev setup as root"

# One JSON object per container; .Label reads one label without parsing the whole set
# (devcontainer.metadata holds JSON with commas, which the flat Labels field mangles).
_PS_FORMAT = (
    '{"id":{{json .ID}},"name":{{json .Names}},"state":{{json .State}},'
    '"status":{{json .Status}},"created":{{json .CreatedAt}},'
    f'"workspace":{{{{json (.Label "{LABEL_WORKSPACE}")}}}},'
    f'"config_hash":{{{{json (.Label "{LABEL_CONFIG_HASH}")}}}}}}'
)

CONTAINER_WORKSPACE = "/workspace"  # where the workspace folder is mounted
WORKER_LOG = f"{CONTAINER_WORKSPACE}/{STATE_RELPATH.as_posix()}/worker.log"


@dataclass(frozen=True)
class DockerEngine:
    """Where containers run: `host` is a DOCKER_HOST value, or None for the default."""

    host: str | None = None

    @classmethod
    def from_option(cls, docker_host: str = "") -> DockerEngine:
        return cls(docker_host or os.environ.get("DOCKER_HOST") or None)

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment for docker and the devcontainer CLI (which calls docker)."""
        env = {**os.environ, **(extra or {})}
        if self.host:
            env["DOCKER_HOST"] = self.host
        return env

    @property
    def where(self) -> str:
        return self.host or "the default socket"

    def docker(self) -> str:
        found = proc.which("docker")
        if not found:
            raise DockerUnavailable("the docker CLI is not installed", INSTALL_HINT)
        return found

    def run(
        self,
        args: Sequence[str],
        *,
        timeout: float | None = 120.0,
        check: bool = True,
        hint: str = "",
    ) -> proc.Result:
        return proc.run(
            [self.docker(), *args], env=self.env(), timeout=timeout, check=check, hint=hint
        )


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    state: str  # created, running, paused, restarting, removing, exited, dead
    status: str  # docker's human text, e.g. "Up 5 minutes"
    created: str
    workspace: str
    config_hash: str

    @property
    def running(self) -> bool:
        return self.state == "running"


def ping(engine: DockerEngine) -> str:
    """The engine's version; DockerUnavailable (one line, with the fix) when none answers."""
    try:
        result = engine.run(
            ["version", "--format", "{{.Server.Version}}"], timeout=PING_TIMEOUT, check=False
        )
    except ToolMissing:
        raise DockerUnavailable("the docker CLI is not installed", INSTALL_HINT) from None
    except ToolFailed:  # timed out
        raise DockerUnavailable(
            f"the Docker engine at {engine.where} does not answer (waited {PING_TIMEOUT:.0f}s)",
            START_HINT,
        ) from None
    version = result.stdout.strip()
    if result.returncode != 0 or not version:
        lines = result.stderr.strip().splitlines()
        why = lines[-1] if lines else f"exit {result.returncode}"
        raise DockerUnavailable(f"no Docker engine answers at {engine.where}: {why}", START_HINT)
    return version


_PS_TEXT = ("id", "name", "state", "status", "created")


def parse_ps(lines: Iterable[str]) -> list[Container]:
    """Containers from `docker ps --format _PS_FORMAT` output (one JSON object a line).

    A line that is not such an object (an engine or a proxy answering garbage) names
    no container we could act on: it is skipped, never a traceback."""
    found: list[Container] = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            data = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in _PS_TEXT):
            continue
        found.append(
            Container(
                id=data["id"],
                name=data["name"],
                state=data["state"],
                status=data["status"],
                created=data["created"],
                workspace=data["workspace"] if isinstance(data.get("workspace"), str) else "",
                config_hash=(
                    data["config_hash"] if isinstance(data.get("config_hash"), str) else ""
                ),
            )
        )
    return found


def containers(
    engine: DockerEngine, nexus: str, workspace: str = "", timeout: float = 120.0
) -> list[Container]:
    """One nexus's containers (all workspaces, or one), running or not: one `docker ps`."""
    label = f"{LABEL_WORKSPACE}={workspace}" if workspace else LABEL_WORKSPACE
    result = engine.run(
        [
            "ps",
            "--all",
            "--no-trunc",
            "--filter",
            f"label={label}",
            "--filter",
            f"label={LABEL_NEXUS}={nexus}",
            "--format",
            _PS_FORMAT,
        ],
        timeout=timeout,
    )
    return parse_ps(result.stdout.splitlines())


def by_workspace(found: Iterable[Container]) -> dict[str, Container]:
    """One container per workspace: the running one, else the most recently created."""
    best: dict[str, Container] = {}
    for c in sorted(found, key=lambda c: c.created):
        current = best.get(c.workspace)
        if current is None or c.running or not current.running:
            best[c.workspace] = c
    return best


def container_for(engine: DockerEngine, ws: Workspace) -> Container | None:
    return by_workspace(containers(engine, nexus_id(), ws.key)).get(ws.key)


def require_container(engine: DockerEngine, ws: Workspace, *, running: bool = False) -> Container:
    found = container_for(engine, ws)
    if found is None:
        raise LifecycleError(
            f"{ws.key} has no container on {engine.where}",
            f"start it with `mise run cs:up {ws.key}`",
        )
    if running and not found.running:
        raise LifecycleError(
            f"{ws.key}'s container is {found.state}, not running",
            f"start it with `mise run cs:up {ws.key}`",
        )
    return found
