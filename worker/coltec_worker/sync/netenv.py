"""The predecessor's networking variables: what `tailscale up` is given (tailnet.py).

The declaration says the hostname (<hostname_prefix><name>) and the tags; these
variables, read at every tailnet check, override them as they did in the predecessor:

    COLTEC_TAILSCALE_AUTH_KEY   the auth key (else TAILSCALE_AUTH_KEY)
    COLTEC_NET_HOSTNAME         the whole host name
    COLTEC_NET_HOSTNAME_PREFIX  <prefix><workspace name>
    COLTEC_NET_TAGS             comma-separated tag:NAME, in place of the declared tags
    COLTEC_NET_ACCEPT_DNS       --accept-dns (default false)
    COLTEC_NET_ACCEPT_ROUTES    --accept-routes (default false)
    COLTEC_NET_SSH              --ssh; unset: not given (tailscale's default, off)
    COLTEC_NET_EXTRA_ARGS       more `tailscale up` flags, split on spaces

A bad value is a ValueError naming the variable; an auth key is refused among the extra
flags, so it cannot reach a command line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

AUTH_KEY_ENV = "TAILSCALE_AUTH_KEY"
AUTH_KEY_ENVS = ("COLTEC_TAILSCALE_AUTH_KEY", AUTH_KEY_ENV)  # the predecessor's name wins
NET_ENV = {
    "hostname": "COLTEC_NET_HOSTNAME",
    "prefix": "COLTEC_NET_HOSTNAME_PREFIX",
    "tags": "COLTEC_NET_TAGS",
    "accept_dns": "COLTEC_NET_ACCEPT_DNS",
    "accept_routes": "COLTEC_NET_ACCEPT_ROUTES",
    "ssh": "COLTEC_NET_SSH",
    "extra": "COLTEC_NET_EXTRA_ARGS",
}
# (variable, flag, default when unset; None: the flag is left out)
SWITCHES = (
    ("accept_dns", "--accept-dns", "false"),
    ("accept_routes", "--accept-routes", "false"),
    ("ssh", "--ssh", None),
)
HOSTNAME = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
TAG = re.compile(r"^tag:[A-Za-z0-9][A-Za-z0-9-]*$")
# tailscale's own spelling of a boolean (Go's strconv.ParseBool): passed on as written
BOOLEANS = ("1", "t", "T", "TRUE", "true", "True", "0", "f", "F", "FALSE", "false", "False")
KEY_FLAGS = ("--auth-key", "--authkey")


@dataclass(frozen=True)
class Settings:
    """What `tailscale up` is given: the declaration's, with the environment's overrides."""

    hostname: str
    tags: tuple[str, ...]
    flags: tuple[str, ...]


def auth_key(env: Mapping[str, str]) -> str:
    for name in AUTH_KEY_ENVS:
        key = env.get(name, "").strip()
        if key:
            return key
    return ""


def settings_from(
    env: Mapping[str, str], hostname: str, tags: tuple[str, ...], workspace: str
) -> Settings:
    """The declared hostname and tags with the overrides in `env`. ValueError naming a bad
    variable."""
    prefix = env.get(NET_ENV["prefix"], "").strip()
    if prefix and workspace:
        hostname = prefix + workspace
    whole = env.get(NET_ENV["hostname"], "").strip()
    hostname = whole or hostname
    if not HOSTNAME.fullmatch(hostname):
        source = NET_ENV["hostname"] if whole else NET_ENV["prefix"]
        raise ValueError(
            f"{source}: {hostname!r} is not a host name (letters, digits and '-', "
            "at most 63, no '-' at either end)"
        )
    if env.get(NET_ENV["tags"], "").strip():
        tags = tuple(t.strip() for t in env[NET_ENV["tags"]].split(",") if t.strip())
        for tag in tags:
            if not TAG.fullmatch(tag):
                raise ValueError(f"{NET_ENV['tags']}: {tag!r} is not a tag: use tag:NAME")
    flags = []
    for name, flag, default in SWITCHES:
        value = env.get(NET_ENV[name], "").strip() or default
        if value is None:
            continue
        if value not in BOOLEANS:
            raise ValueError(f"{NET_ENV[name]}: {value!r} is not true or false")
        flags.append(f"{flag}={value}")
    extra = env.get(NET_ENV["extra"], "").split()
    for word in extra:
        name = word.split("=", 1)[0]
        if name in KEY_FLAGS:
            raise ValueError(
                f"{NET_ENV['extra']}: {name} is not taken there: the key goes in "
                f"{AUTH_KEY_ENVS[0]}, never on a command line"
            )
    return Settings(hostname, tags, (*flags, *extra))
