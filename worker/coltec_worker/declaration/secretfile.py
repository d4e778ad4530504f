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
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, MutableMapping

ENV_VAR = "COLTEC_SECRETS_FILE"
FILE_NAME = "secrets.json"
MISSING = "secrets missing: run cs:up"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def dumps(values: Mapping[str, str]) -> str:
    """The file's text (the host writes it with this; the worker reads it with loads)."""
    return json.dumps(dict(sorted(values.items())), indent=1) + "\n"


def loads(text: str) -> dict[str, str]:
    """The variables in a secrets file; ValueError when it is not one."""
    data = json.loads(text)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and _NAME.match(k) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError("not a JSON object of NAME: string")
    return data


def path_from(env: Mapping[str, str]) -> str:
    return env.get(ENV_VAR, "")


def missing(env: Mapping[str, str]) -> str | None:
    """MISSING (with the reason) when a secrets file is expected but cannot be read."""
    path = path_from(env)
    if not path:
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            loads(handle.read())
    except FileNotFoundError:
        return MISSING
    except (OSError, ValueError) as exc:
        return f"{MISSING} ({path}: {exc.__class__.__name__})"
    return None


def apply(env: MutableMapping[str, str]) -> str | None:
    """Merge the secrets file into env (the file wins); the problem, or None when fine."""
    problem = missing(env)
    if problem is not None:
        return problem
    path = path_from(env)
    if path:
        with open(path, encoding="utf-8") as handle:
            env.update(loads(handle.read()))
    return None


def apply_to_process() -> str | None:
    """apply() on os.environ: what every worker entry point calls first."""
    return apply(os.environ)
