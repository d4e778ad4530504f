"""The worker's environment, as one mapping: what the pipeline and rclone see.

`worker_environment()` is the one place that builds it; every entry point (the
daemon, its compile child, --once, --dry-run, --validate-only, flush) takes its
environment from here, so a value delivered another way (e.g. a secrets file)
is hooked in once and seen by all of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from coltec_worker.declaration import secretfile


def worker_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment the worker runs with: the process environment (or `base`), with
    the secrets file that `cs:up` delivers (COLTEC_SECRETS_FILE) merged in when it can
    be read — `secretfile.missing()` tells when it cannot."""
    env = dict(os.environ if base is None else base)
    secretfile.apply(env)
    return env
