"""The hosts file: the Docker hosts workspaces run on, and how to reach each one.

`hosts.yaml` at the nexus root (or the file COLTEC_HOSTS names) lists hosts by name
with their DOCKER_HOST (`unix://`, `ssh://user@host`, `tcp://` with TLS), an optional
capacity and labels; `pins` ties workspaces to a host. Its shape is
schema/hosts.schema.json. No file: one host, `local`, the engine DOCKER_HOST (or
--docker-host, or the default socket) names — today's behaviour.

A host is *local* when its engine runs on this machine, so a bind mount of the
workspace folder works there; by default unix:// and npipe:// hosts are local and
ssh:// and tcp:// hosts are not (`local:` overrides it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from coltec_worker.declaration.source import Document, load_yaml
from coltec_worker.declaration.validation import schema_problems
from coltec_worker.errors import ConfigError, Problem

from coltec.errors import HostsFileError, UnknownHost, UsageError
from coltec.runtime.docker import DockerEngine
from coltec.workspaces import REPO_ROOT

HOSTS_SCHEMA = "hosts.schema.json"
HOSTS_FILE = "hosts.yaml"
LOCAL_NAME = "local"
LOCAL_SCHEMES = ("unix://", "npipe://")


@dataclass(frozen=True)
class HostEngine(DockerEngine):
    """A DockerEngine with the host's name and TLS settings (DOCKER_TLS_VERIFY,
    DOCKER_CERT_PATH)."""

    name: str = LOCAL_NAME
    tls_env: tuple[tuple[str, str], ...] = ()

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = super().env(extra)
        env.update(self.tls_env)
        return env

    @property
    def where(self) -> str:
        return f"host {self.name} ({self.host or 'the default socket'})"


@dataclass(frozen=True)
class Host:
    name: str
    docker_host: str  # "" = DOCKER_HOST of the environment, or the default socket
    local: bool
    max_workspaces: int | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    tls_cert_path: str = ""
    tls_verify: bool = True

    def engine(self) -> HostEngine:
        tls: tuple[tuple[str, str], ...] = ()
        if self.tls_cert_path:
            tls = (("DOCKER_CERT_PATH", os.path.expanduser(self.tls_cert_path)),)
            if self.tls_verify:
                tls += (("DOCKER_TLS_VERIFY", "1"),)
        return HostEngine(self.docker_host or None, name=self.name, tls_env=tls)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "docker_host": self.docker_host,
            "local": self.local,
            "max_workspaces": self.max_workspaces,
            "labels": dict(self.labels),
        }


@dataclass(frozen=True)
class HostsFile:
    path: Path | None  # None: no hosts file, the implicit local host only
    hosts: tuple[Host, ...]
    pins: Mapping[str, str] = field(default_factory=dict)

    def get(self, name: str) -> Host:
        for host in self.hosts:
            if host.name == name:
                return host
        where = str(self.path) if self.path else "no hosts file: the only host is 'local'"
        raise UnknownHost(
            f"no host named '{name}' ({where})",
            f"hosts: {', '.join(h.name for h in self.hosts)} (see `mise run cs:hosts`)",
        )

    def pinned(self, workspace: str) -> Host | None:
        name = self.pins.get(workspace)
        return self.get(name) if name else None


def hosts_path() -> Path | None:
    """COLTEC_HOSTS (empty: none), else hosts.yaml at the nexus root when it exists."""
    explicit = os.environ.get("COLTEC_HOSTS")
    if explicit is not None:
        return Path(explicit) if explicit else None
    path = REPO_ROOT / HOSTS_FILE
    return path if path.exists() else None


def implicit_local(docker_host: str = "") -> HostsFile:
    """Today's behaviour: one host, the engine --docker-host / DOCKER_HOST / default names."""
    url = docker_host or os.environ.get("DOCKER_HOST", "")
    local = not url or url.startswith(LOCAL_SCHEMES)
    return HostsFile(None, (Host(LOCAL_NAME, url, local),))


def _problems(doc: Document) -> list[Problem]:
    problems = schema_problems(doc, HOSTS_SCHEMA)
    if problems or not isinstance(doc.data, dict):
        return problems
    seen: dict[str, int] = {}
    for i, host in enumerate(doc.data.get("hosts") or []):
        name = host.get("name")
        if name in seen:
            problems.append(
                doc.problem(
                    f"$.hosts[{i}].name",
                    f"host name '{name}' is used twice (also $.hosts[{seen[name]}])",
                    "give every host its own name",
                    "unique",
                )
            )
        seen.setdefault(name, i)
        if "tls" in host and not str(host.get("docker_host", "")).startswith("tcp://"):
            problems.append(
                doc.problem(
                    f"$.hosts[{i}].tls",
                    "tls applies to tcp:// engines only",
                    "remove tls, or use docker_host: tcp://HOST:2376",
                    "tls",
                    key=True,
                )
            )
    for workspace, name in (doc.data.get("pins") or {}).items():
        if name not in seen:
            problems.append(
                doc.problem(
                    f"$.pins.{workspace}",
                    f"'{workspace}' is pinned to '{name}', which is not a host here",
                    f"hosts: {', '.join(seen) or 'none'}",
                    "pin",
                )
            )
    return problems


def _host(data: Mapping[str, object]) -> Host:
    url = str(data["docker_host"])
    local = data.get("local")
    tls = data.get("tls")
    tls_map: Mapping[str, object] = tls if isinstance(tls, Mapping) else {}
    labels = data.get("labels")
    capacity = data.get("max_workspaces")
    return Host(
        name=str(data["name"]),
        docker_host=url,
        local=bool(local) if local is not None else url.startswith(LOCAL_SCHEMES),
        max_workspaces=int(capacity) if isinstance(capacity, int) else None,
        labels={str(k): str(v) for k, v in labels.items()} if isinstance(labels, Mapping) else {},
        tls_cert_path=str(tls_map.get("cert_path", "")),
        tls_verify=bool(tls_map.get("verify", True)),
    )


def load_hosts(path: Path | None = None, docker_host: str = "") -> HostsFile:
    """The hosts file at `path` (default: hosts_path()), checked; or the implicit local host.

    --docker-host given with a hosts file is refused: it would bypass placement.
    """
    path = path if path is not None else hosts_path()
    if path is None:
        return implicit_local(docker_host)
    if docker_host:
        raise UsageError(
            f"--docker-host cannot be combined with a hosts file ({path})",
            "name a host of the file with --host NAME (see `mise run cs:hosts`), "
            "or set COLTEC_HOSTS= (empty) to ignore the file",
        )
    try:
        doc = load_yaml(path)
        problems = _problems(doc)
    except ConfigError as exc:
        problems = exc.problems or [Problem(str(path), None, None, "$", exc.message, exc.hint)]
    if problems:
        lines = "\n".join(p.format() for p in problems)
        raise HostsFileError(
            f"{path} is invalid ({len(problems)} problem(s)):\n{lines}",
            "fix the hosts file; its format is schema/hosts.schema.json and README § Hosts",
        )
    data = doc.data
    return HostsFile(
        path,
        tuple(_host(h) for h in data["hosts"]),
        {str(k): str(v) for k, v in (data.get("pins") or {}).items()},
    )
