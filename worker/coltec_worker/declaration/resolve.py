"""The environment contract: which rclone remote the worker syncs to (spec + env). Pure.

- RCLONE_REMOTE_NAME: the remote's name (default: the spec's rclone_config.remote_name).
- RCLONE_BUCKET: a bucket name, or an http(s):// URL whose first path segment is the bucket
  (e.g. https://ACCOUNT.r2.cloudflarestorage.com/my-bucket). Empty: the remote's root.
- RCLONE_CONFIG_<NAME>_*: rclone's own environment configuration; credentials live only
  here. The spec's `type` and non-secret `options` fill in what the environment leaves out.
- A remote counts as configured when RCLONE_REMOTE_NAME, RCLONE_BUCKET or
  RCLONE_CONFIG_<NAME>_TYPE is set. Otherwise the worker syncs to a built-in local remote,
  a folder under $XDG_DATA_HOME (default ~/.local/share)/coltec/remote, and logs that.
- rclone_config.encryption.enabled wraps the remote in a crypt remote named `coltec_crypt`
  whose password comes from the variable named by password_env; it must be obscured
  (`rclone obscure -`, see runner.obscure) before it goes into the child's environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from coltec_worker.declaration import env_rules, rules
from coltec_worker.declaration.remote import CRYPT_NAME, Remote, reserved_remote_name
from coltec_worker.declaration.spec import OptionValue, WorkspaceSpec
from coltec_worker.errors import ConfigError


def env_name(remote_name: str) -> str:
    return f"RCLONE_CONFIG_{remote_name.upper()}_"


def bucket_from(value: str) -> str:
    """A bucket name, or the bucket taken from an http(s) URL's first path segment.

    The same checks as the pipeline's (env_rules.check_environment): ConfigError if unsafe.
    """
    bucket, why = env_rules.split_bucket(value)
    if bucket is not None and why is None:
        why = env_rules.bucket_problem(bucket)
    if bucket is None or why:
        raise ConfigError(
            f"RCLONE_BUCKET={rules.shown(value)!r} {why}",
            hint="give a bucket name such as my-bucket, or https://HOST/BUCKET",
        )
    return bucket


def _option_text(value: OptionValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def data_home(env: Mapping[str, str], home: str | os.PathLike[str]) -> str:
    xdg = env.get("XDG_DATA_HOME", "")
    return xdg if xdg.startswith("/") else os.path.join(home, ".local", "share")


def builtin_root(env: Mapping[str, str], home: str | os.PathLike[str]) -> str:
    return os.path.join(data_home(env, home), "coltec", "remote")


def remote_from_env(
    spec: WorkspaceSpec, env: Mapping[str, str], home: str | os.PathLike[str]
) -> Remote:
    """The remote for `spec` under `env` (pure: nothing is run or read from disk)."""
    rc = spec.persistence.rclone_config
    name = env.get("RCLONE_REMOTE_NAME") or rc.remote_name
    prefix = env_name(name)
    configured = bool(
        env.get("RCLONE_REMOTE_NAME") or env.get("RCLONE_BUCKET") or env.get(prefix + "TYPE")
    )
    extra: dict[str, str] = {}
    if configured:
        if not env_rules.REMOTE_NAME.fullmatch(name):
            raise ConfigError(
                f"RCLONE_REMOTE_NAME={rules.shown(name)!r} is not a remote name",
                hint="use letters, digits and '_'",
            )
        reserved = reserved_remote_name(name)
        if reserved:
            raise ConfigError(
                f"remote name {rules.shown(name)!r} {reserved}", hint="choose another name, e.g. r2"
            )
        extra[prefix + "TYPE"] = env.get(prefix + "TYPE") or rc.type
        for key, value in rc.options.items():
            var = prefix + key.upper()
            if var not in env:
                extra[var] = _option_text(value)
        bucket = bucket_from(env.get("RCLONE_BUCKET", ""))
        root = f"{name}:{bucket}" if bucket else f"{name}:"
        description = root
    else:
        local = builtin_root(env, home)
        root = local
        description = (
            f"built-in local remote {local} (no RCLONE_REMOTE_NAME, RCLONE_BUCKET "
            f"or {prefix}TYPE set)"
        )
    enc = rc.encryption
    if not enc.enabled:
        return Remote(root=root, description=description, builtin=not configured, env=extra)
    crypt = env_name(CRYPT_NAME)
    extra[crypt + "TYPE"] = "crypt"
    extra[crypt + "REMOTE"] = root
    return Remote(
        root=f"{CRYPT_NAME}:",
        description=f"{description} (encrypted)",
        builtin=not configured,
        env=extra,
        crypt_password_env=enc.password_env,
    )
