"""The secrets file: how credentials reach the container without any command line.

`cs:up` writes the secret variables (rclone's remote configuration, the crypt
password, the tailnet auth key) as one JSON object to a 0600 file in a private
runtime folder of the host user and mounts that folder read-only; the container's
environment holds only the file's path, COLTEC_SECRETS_FILE. Every worker entry
point merges the file into its environment before anything else, so rclone and
tailscale get the values as environment (never argv), and `docker inspect` shows
a path, not a secret.

No COLTEC_SECRETS_FILE: nothing to merge (a worker run by hand, tests, the demo).
The variable set but the file gone (the host rebooted, the runtime folder was
cleared): `missing()` says so and the worker touches no data until `cs:up` writes
it again.

The reader is bounded: a regular file of at most MAX_BYTES, opened without blocking
(a FIFO nobody writes, /dev/zero or a folder is "not a secrets file", never a hang or
a traceback), and a system variable in it (variables.is_system_variable: PATH,
LD_PRELOAD, ...) makes it invalid: the file carries credentials, never process control.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping, MutableMapping

from coltec_worker.declaration.variables import NAME, SECRETS_FILE_VAR, is_system_variable

ENV_VAR = SECRETS_FILE_VAR
FILE_NAME = "secrets.json"
MISSING = "secrets missing: run cs:up"
MAX_BYTES = 256 * 1024  # a secrets file holds a few variables: far less than this


def dumps(values: Mapping[str, str]) -> str:
    """The file's text (the host writes it with this; the worker reads it with loads)."""
    return json.dumps(dict(sorted(values.items())), indent=1) + "\n"


def loads(text: str) -> dict[str, str]:
    """The variables in a secrets file; ValueError when it is not one."""
    data = json.loads(text)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and NAME.match(k) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError("not a JSON object of NAME: string")
    system = [k for k in data if is_system_variable(k)]
    if system:
        raise ValueError(f"it sets the system variable {system[0]}")
    return data


def read(path: str) -> dict[str, str]:
    """The variables in the file at `path`: OSError or ValueError when it is not one."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)  # a FIFO: no hang
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError("not a regular file")
        raw = os.read(fd, MAX_BYTES + 1)
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES // 1024} KiB")
    return loads(raw.decode("utf-8"))


def path_from(env: Mapping[str, str]) -> str:
    return env.get(ENV_VAR, "")


def missing(env: Mapping[str, str]) -> str | None:
    """MISSING (with the reason) when a secrets file is expected but cannot be read."""
    path = path_from(env)
    if not path:
        return None
    try:
        read(path)
    except FileNotFoundError:
        return MISSING
    except (OSError, ValueError) as exc:
        # the reason, never the text (a JSON error quotes it, and it holds secrets)
        why = (
            str(exc)
            if isinstance(exc, ValueError)
            and not isinstance(exc, (json.JSONDecodeError, UnicodeDecodeError))
            else exc.__class__.__name__
        )
        return f"{MISSING} ({path}: {why})"
    return None


def apply(env: MutableMapping[str, str]) -> str | None:
    """Merge the secrets file into env (the file wins); the problem, or None when fine."""
    problem = missing(env)
    if problem is not None:
        return problem
    path = path_from(env)
    if path:
        try:
            env.update(read(path))
        except (OSError, ValueError):  # changed since missing() looked: as missing
            return MISSING
    return None


def apply_to_process() -> str | None:
    """apply() on os.environ: what every worker entry point calls first."""
    return apply(os.environ)
