"""A compiled remote made ready to run: its rclone environment, from the worker's.

The compiled plan names what a remote needs and holds none of it (declaration/remote.py):
here, at start and at every reload, the `${VAR}`s of its bucket and options are expanded
from the worker's environment (the secrets file included), the crypt passwords and salts
are read by name and obscured (`rclone obscure -`, stdin), and the result goes only into
the rclone child's environment. What it expanded and read is handed back for the
redactor, so no log line shows it. `identity` is a digest of where the remote really
points (type, endpoint, bucket and folders, crypt naming), so another bucket behind the
same `${VAR}` is another pair for bisync's first-run markers — never a bucket name in a
state file.

Passwords and salts are accepted as plain text only (what `rclone obscure` takes), the
same as rclone_config.encryption's password_env: the worker obscures them itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from coltec_worker.declaration.remote import Remote, bucket_problem, crypt_password
from coltec_worker.declaration.variables import Unset, expand, is_system_variable, variables_in
from coltec_worker.errors import ConfigError
from coltec_worker.record import Record

# What says where a remote points: kept in its identity (credentials are not: a rotated
# key is the same bucket).
_PLACE = ("_TYPE", "_REMOTE", "_ENDPOINT", "_PROVIDER", "_REGION", "_ENCRYPTION")


class Ready(Record):
    remote: Remote  # with identity set
    env: dict[str, str]  # the rclone variables for the child's environment
    secrets: tuple[str, ...]  # values to redact (expanded variables, passwords)


def _hint(name: str) -> str:
    return (
        f"set {name} in the environment `mise run cs:up` runs in (or in fnox): it delivers "
        "the variables the declaration names; then run cs:up again"
    )


def _expanded(remote: Remote, var: str, template: str, env: Mapping[str, str], config: str) -> str:
    where = remote.where.get(var, "$.persistence.remotes")
    try:
        return expand(template, env)
    except Unset as exc:
        if is_system_variable(exc.name):
            raise ConfigError(
                f"{config}::{where}: ${{{exc.name}}} is a system variable, not a secret",
                hint="name a variable of your own, e.g. R2_SECRET_ACCESS_KEY",
            ) from None
        raise ConfigError(
            f"{config}::{where}: ${{{exc.name}}} is not set (or empty)", hint=_hint(exc.name)
        ) from None


def ready(
    remote: Remote,
    env: Mapping[str, str],
    obscure: Callable[[str], str],
    *,
    config: str,
) -> Ready:
    """The run-time form of `remote` under `env`; ConfigError names a missing variable
    and the declared field that uses it. `obscure` is runner.obscure with its rclone."""
    out = dict(remote.env)
    secrets: list[str] = []
    for var, template in sorted(remote.expand.items()):
        out[var] = _expanded(remote, var, template, env, config)
        secrets += [env[name] for name in variables_in(template)]
    for where, template in sorted(remote.buckets.items()):
        why = bucket_problem(_expanded(remote, "", template, env, config))
        if why:
            raise ConfigError(
                f"{config}::{where}: {template} expands to a bucket name that {why}",
                hint="give a bucket name such as my-bucket",
            )
    for var, name in sorted(remote.obscure.items()):
        where = remote.where.get(var, "$.persistence.remotes")
        if is_system_variable(name):
            raise ConfigError(
                f"{config}::{where}: {name} is a system variable, not a password",
                hint="name a variable of your own, e.g. COLTEC_CRYPT_PASSWORD",
            )
        secret = env.get(name, "")
        if not secret:
            raise ConfigError(
                f"{config}::{where}: the crypt password variable {name} is not set (or empty)",
                hint=_hint(name),
            )
        out[var] = obscure(secret)
        secrets += [secret, out[var]]
    legacy = None if remote.obscure else crypt_password(remote, env)
    if legacy is not None:
        out[remote.crypt_password_var] = obscure(legacy)
        secrets += [legacy, out[remote.crypt_password_var]]
    identity = _identity(out) if remote.name else ""
    return Ready(remote._replace(identity=identity), out, tuple(secrets))


def _identity(values: Mapping[str, str]) -> str:
    import hashlib  # named remotes only: the daemon of a plain spec does without

    place = sorted((k, v) for k, v in values.items() if k.endswith(_PLACE))
    return hashlib.sha256(repr(place).encode()).hexdigest()[:16]
