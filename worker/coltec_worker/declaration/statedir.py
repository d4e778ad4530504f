"""The state directory beside the sync paths: inside one is fine (it is excluded), but
one that *is* a sync path, or holds one, is refused.

Equal, the exclude of the state directory (sync/plan.excludes) leaves the path nothing
to sync, while bisync's listings and backups sit where rclone writes the remote's files;
holding one, the path's files land among the worker's markers and pidfile, and a
restore could overwrite them. Both are compared as resolved (symlinks, /proc/self/root).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable

from coltec_worker.errors import ConfigError


def _resolved(path: str) -> str:
    return posixpath.normpath(os.path.realpath(path))


def check_state_dir(state_dir: str, paths: Iterable[tuple[str, str]]) -> None:
    """ConfigError when the state directory equals or holds a sync path (name, local)."""
    state = _resolved(state_dir)
    for name, local in paths:
        where = _resolved(local)
        if where == state or where.startswith(state.rstrip("/") + "/"):
            how = "is" if where == state else "holds"
            raise ConfigError(
                f"the state directory {state_dir} {how} the local folder of sync path "
                f"{name} ({local})",
                hint="point --state-dir or COLTEC_STATE_DIR at a folder outside every "
                "sync path, or inside one (it is then excluded), e.g. <workspace>/.coltec/state",
            )
