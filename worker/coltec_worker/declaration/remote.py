"""Where the sync paths live: the remote a compiled plan names, and its backup folders.

The daemon imports only this half of the environment contract; resolving a remote from
the spec and the environment is resolve.py's (rclone_config and RCLONE_*) and
named.py's (persistence.remotes), in the pipeline (the compile child). A compiled
Remote holds no secret and no expanded `${VAR}`: `expand` keeps the templates and
`obscure` the names of the password variables, both applied at run time
(sync/remote_env.py), which also sets `identity` (what the remote really points at).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from types import MappingProxyType

from coltec_worker.errors import ConfigError
from coltec_worker.record import Record

CRYPT_NAME = "coltec_crypt"
# rclone reads RCLONE_CONFIG_<NAME>_* case-blind: a remote named like the worker's own
# (the crypt layer, named remotes' aliases coltec_r_<name> / coltec_h<i>_alias) would
# share their variables — `coltec_crypt` with encryption on wraps itself.
_RESERVED = re.compile(r"coltec_crypt|coltec_r_.*|coltec_h[0-9]+_alias", re.IGNORECASE)


def reserved_remote_name(name: str) -> str | None:
    """Why `name` cannot be the rclone_config remote's name, or None."""
    if _RESERVED.fullmatch(name):
        return (
            f"is reserved: the worker names its own rclone remotes {CRYPT_NAME} and "
            "coltec_r_<name> (in any case)"
        )
    return None


# A bucket name rclone takes safely (RCLONE_BUCKET, a named remote's expanded bucket).
BUCKET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def bucket_problem(bucket: str) -> str | None:
    """Why a bucket name is unsafe for rclone, or None (an empty name: the remote's root)."""
    if bucket == "":
        return None
    if len(bucket) > 255 or not BUCKET.fullmatch(bucket):
        return "is not a bucket name (letters, digits, '.', '_', '-'; no leading '.' or '-')"
    if ".." in bucket:
        return "has '..' in it"
    return None


# The remote folder that holds backups: no sync path may live inside it.
BACKUP_ROOT = ".coltec-backups"


class Remote(Record):
    """Where sync paths live. `root` is "name:bucket", "name:" or an absolute local folder."""

    root: str
    description: str
    builtin: bool = False
    env: Mapping[str, str] = MappingProxyType({})
    # Name of the variable holding the crypt password, still to be obscured; None without crypt.
    crypt_password_env: str | None = None
    crypt_password_var: str = f"RCLONE_CONFIG_{CRYPT_NAME.upper()}_PASSWORD"
    # rclone variable -> its value with ${VAR}s, expanded at run time (never compiled)
    expand: Mapping[str, str] = MappingProxyType({})
    # rclone variable -> the variable that holds a crypt password or salt (plain text;
    # obscured at run time)
    obscure: Mapping[str, str] = MappingProxyType({})
    # rclone variable -> the declared field it comes from (for errors)
    where: Mapping[str, str] = MappingProxyType({})
    # declared field -> a bucket with ${VAR}s (checked as a bucket name once expanded)
    buckets: Mapping[str, str] = MappingProxyType({})
    under: str | None = None  # a named crypt remote: the location it encrypts into
    name: str = ""  # the declared name (persistence.remotes); "" for rclone_config's
    identity: str = ""  # set at run time: a digest of what it really points at

    def join(self, path: str) -> str:
        if self.root.endswith((":", "/")):
            return self.root + path
        return f"{self.root}/{path}"

    @property
    def underlying(self) -> str | None:
        """The remote under the crypt layer ("r2:bucket"); None without encryption."""
        if self.crypt_password_env is None:
            return None
        if self.under is not None:
            return self.under
        return self.env.get(f"RCLONE_CONFIG_{CRYPT_NAME.upper()}_REMOTE")

    def pair_key(self, location: str) -> str:
        """What a first-run marker binds for `location`: the place under an alias or the
        crypt layer too, so another bucket is another pair."""
        if self.identity:
            return f"{location} on {self.identity}"
        under = self.underlying
        return location if under is None else f"{location} on {under}"

    def to_json(self) -> dict[str, object]:
        return {
            "root": self.root,
            "description": self.description,
            "builtin": self.builtin,
            "env": dict(self.env),
            "crypt_password_env": self.crypt_password_env,
            "expand": dict(self.expand),
            "obscure": dict(self.obscure),
            "where": dict(self.where),
            "buckets": dict(self.buckets),
            "under": self.under,
            "name": self.name,
        }


def _strings(data: Mapping[str, object], key: str) -> dict[str, str]:
    value = data.get(key, {})
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ConfigError(f"compiled plan: remote.{key} has the wrong type", hint="a worker bug")
    return value


def _optional(data: Mapping[str, object], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"compiled plan: remote.{key} has the wrong type", hint="a worker bug")
    return value


def remote_from_json(data: object) -> Remote:
    """The Remote of Remote.to_json's output (the compiled plan); ConfigError if malformed."""
    if not isinstance(data, dict):
        raise ConfigError("compiled plan: remote has the wrong type", hint="a worker bug")
    root, description, builtin = data.get("root"), data.get("description"), data.get("builtin")
    if not isinstance(root, str) or not isinstance(description, str):
        raise ConfigError("compiled plan: remote.root has the wrong type", hint="a worker bug")
    if not isinstance(builtin, bool):
        raise ConfigError("compiled plan: remote.builtin has the wrong type", hint="a worker bug")
    return Remote(
        root=root,
        description=description,
        builtin=builtin,
        env=_strings(data, "env"),
        crypt_password_env=_optional(data, "crypt_password_env"),
        expand=_strings(data, "expand"),
        obscure=_strings(data, "obscure"),
        where=_strings(data, "where"),
        buckets=_strings(data, "buckets"),
        under=_optional(data, "under"),
        name=_optional(data, "name") or "",
    )


def backup_path(remote: Remote, resolved: str, stamp: str) -> str:
    """The remote backup folder of one run: outside every sync prefix, so never synced."""
    return remote.join(posixpath.join(BACKUP_ROOT, resolved, stamp))


def crypt_password(remote: Remote, env: Mapping[str, str]) -> str | None:
    """The crypt password from the worker's environment; None without encryption.

    Not part of the declaration's verdict (a secret is delivered, not declared):
    missing at start or reload, it is a ConfigError there.
    """
    if remote.crypt_password_env is None:
        return None
    secret = env.get(remote.crypt_password_env, "")
    if not secret:
        raise ConfigError(
            f"encryption is enabled but ${remote.crypt_password_env} is empty or unset",
            hint=f"export {remote.crypt_password_env} with the crypt password, or set "
            "rclone_config.encryption.enabled: false",
        )
    return secret
