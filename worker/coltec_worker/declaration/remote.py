"""Where the sync paths live: the remote a compiled plan names, and its backup folders.

The daemon imports only this half of the environment contract; resolving a remote from
the spec and the environment is resolve.py's, in the pipeline (the compile child).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from types import MappingProxyType

from coltec_worker.errors import ConfigError
from coltec_worker.record import Record

CRYPT_NAME = "coltec_crypt"
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

    def join(self, path: str) -> str:
        if self.root.endswith((":", "/")):
            return self.root + path
        return f"{self.root}/{path}"

    @property
    def underlying(self) -> str | None:
        """The remote under the crypt layer ("r2:bucket"); None without encryption."""
        if self.crypt_password_env is None:
            return None
        return self.env.get(f"RCLONE_CONFIG_{CRYPT_NAME.upper()}_REMOTE")

    def pair_key(self, location: str) -> str:
        """What a first-run marker binds for `location`: with encryption, the remote under
        the crypt layer too, so another bucket is another pair."""
        under = self.underlying
        return location if under is None else f"{location} on {under}"


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
