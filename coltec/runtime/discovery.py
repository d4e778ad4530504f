"""`cs:discover`: which workspaces are on the tailnet, from this machine's `tailscale status`.

A peer is a workspace when it carries one of the devcontainer tags (default
`tag:devcontainer`) or its hostname is `<hostname_prefix><name>` of a local
workspace with networking enabled; the latter also names the local workspace.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from coltec_worker.declaration.spec import spec_from_dict
from coltec_worker.errors import ConfigError

from coltec import proc
from coltec.errors import TailscaleUnavailable, ToolFailed
from coltec.workspaces import Workspace, all_workspaces

DEFAULT_TAGS = ("tag:devcontainer",)
ZERO_TIME = "0001-01-01T00:00:00Z"
INSTALL_HINT = (
    "install Tailscale on this machine (https://tailscale.com/download), "
    "then log in with `tailscale up`"
)


@dataclass(frozen=True)
class Peer:
    hostname: str
    dns_name: str
    ips: list[str]
    online: bool
    last_seen: str | None
    os: str
    tags: list[str]
    workspace: str  # org/name of the matching local workspace, or ""
    is_self: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def local_hostnames(workspaces: Iterable[Workspace]) -> dict[str, str]:
    """Tailnet hostname -> workspace key, for local workspaces with networking enabled."""
    from coltec_worker.declaration.source import load_yaml

    out: dict[str, str] = {}
    for ws in workspaces:
        try:
            spec = spec_from_dict(load_yaml(ws.spec_file).data)
        except ConfigError:
            continue  # cs:validate reports broken specs; discovery lists what it can
        if spec.networking.enabled:
            out[spec.networking.hostname_prefix + spec.name] = ws.key
    return out


def tailscale_status(tailscale: str = "tailscale") -> dict[str, Any]:
    """This machine's `tailscale status --json`, or a clear error saying what to do."""
    exe = proc.require(tailscale, INSTALL_HINT)
    try:
        result = proc.run([exe, "status", "--json"], timeout=30)
    except ToolFailed as exc:
        text = (exc.stderr or exc.stdout).strip()
        if "failed to connect" in text or "doesn't appear to be running" in text:
            raise TailscaleUnavailable(
                "tailscaled is not running on this machine",
                "start it (`sudo systemctl start tailscaled`, or open the Tailscale app), "
                "then `tailscale up`",
            ) from None
        raise
    try:
        data = json.loads(result.stdout)
    except ValueError:
        raise TailscaleUnavailable(
            "`tailscale status --json` did not print JSON",
            "check `tailscale version`; 1.34 or newer is needed",
        ) from None
    state = data.get("BackendState") if isinstance(data, dict) else None
    if state in ("NeedsLogin", "NeedsMachineAuth"):
        url = data.get("AuthURL") or ""
        raise TailscaleUnavailable(
            f"this machine is not logged in to a tailnet ({state})",
            f"log in: open {url}" if url else "log in with `tailscale up` (or `tailscale login`)",
        )
    if state == "Stopped":
        raise TailscaleUnavailable(
            "Tailscale is stopped on this machine", "connect with `tailscale up`"
        )
    if state != "Running":
        raise TailscaleUnavailable(
            f"Tailscale is not ready ({state})",
            "wait a few seconds and try again; see `tailscale status`",
        )
    assert isinstance(data, dict)
    return data


def _peer(node: Mapping[str, Any], hostnames: Mapping[str, str], is_self: bool) -> Peer:
    host = str(node.get("HostName") or "")
    dns = str(node.get("DNSName") or "").rstrip(".")
    seen = node.get("LastSeen")
    return Peer(
        hostname=host,
        dns_name=dns,
        ips=[str(ip) for ip in node.get("TailscaleIPs") or []],
        online=bool(node.get("Online")) or is_self,
        last_seen=None if not seen or seen == ZERO_TIME else str(seen),
        os=str(node.get("OS") or ""),
        tags=[str(t) for t in node.get("Tags") or []],
        workspace=hostnames.get(host) or hostnames.get(dns.split(".")[0]) or "",
        is_self=is_self,
    )


def peers_from_status(
    status: Mapping[str, Any],
    tags: Iterable[str] = DEFAULT_TAGS,
    hostnames: Mapping[str, str] | None = None,
) -> list[Peer]:
    """The workspaces among the nodes of a status: tagged, or named like a local one."""
    wanted = set(tags)
    hostnames = hostnames or {}
    nodes: list[tuple[Mapping[str, Any], bool]] = []
    if isinstance(status.get("Self"), Mapping):
        nodes.append((status["Self"], True))
    nodes += [(n, False) for n in (status.get("Peer") or {}).values() if isinstance(n, Mapping)]
    found = [_peer(n, hostnames, is_self) for n, is_self in nodes]
    found = [p for p in found if wanted & set(p.tags) or p.workspace]
    return sorted(found, key=lambda p: (not p.online, p.workspace or "~", p.hostname))


def discover(tags: Iterable[str] = DEFAULT_TAGS, tailscale: str = "tailscale") -> list[Peer]:
    status = tailscale_status(tailscale)
    return peers_from_status(status, tags, local_hostnames(all_workspaces()))
