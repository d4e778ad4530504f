"""Concurrent `cs:up`s of one nexus: one at a time per workspace, placements that see each other.

Placing is ask-then-start: between asking the hosts (`docker ps`) and devcontainer
creating the container, a second `cs:up` would see the same free capacity and pick the
same host, and a second `cs:up` of the same workspace would race devcontainer to a second
container. So every `cs:up` holds a claim for as long as it runs: an entry in
`<runtime dir>/nexus-<id>/claims.json` naming the workspace, its process and, once
placed, its host. Entries change only under an exclusive `flock` on `claims.lock`;
placements run one at a time under `placing.lock`, each counting the live claims of
other workspaces as workspaces on their hosts. A claim whose process is gone (killed,
crashed) is dropped when next read. Scope: one clone of the nexus on one machine — the same scope as
capacity itself, which counts this nexus's containers (`coltec.nexus`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from coltec_worker.sync.state import pid_alive

from coltec.errors import LifecycleError
from coltec.runtime.secrets import private_dir, runtime_dir
from coltec.workspaces import nexus_id

FILE, LOCK = "claims.json", "claims.lock"  # the claims; held while they change (instants)
PLACING = "placing.lock"  # held while one cs:up places (asking the hosts: seconds)


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" without /proc): with the
    pid it names one process, even after the pid is reused."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return ""
    return fields[19] if len(fields) > 19 else ""  # field 22; the name may hold spaces


def _alive(entry: dict[str, Any]) -> bool:
    pid = entry.get("pid")
    if not isinstance(pid, int) or pid <= 0 or not pid_alive(pid):  # a zombie is not
        return False
    return not entry.get("started") or entry["started"] == _started(pid)


class Claim:
    """This `cs:up`'s claim on a workspace (see the module docstring)."""

    def __init__(self, folder: Path, workspace: str) -> None:
        self.folder, self.workspace = folder, workspace
        self.me = {"pid": os.getpid(), "started": _started(os.getpid()), "host": ""}

    @contextlib.contextmanager
    def locked(self) -> Iterator[dict[str, dict[str, Any]]]:
        """The live claims, under the lock; what the body leaves in the dict is written."""
        with open(self.folder / LOCK, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            claims = self._read()
            yield claims
            tmp = self.folder / f".{FILE}.{os.getpid()}"
            tmp.write_text(json.dumps(claims, indent=1, sort_keys=True), encoding="utf-8")
            os.replace(tmp, self.folder / FILE)

    @contextlib.contextmanager
    def placing(self) -> Iterator[dict[str, set[str]]]:
        """One placement at a time; yields what others placed (others_by_host). Record the
        choice with hold() before the body ends."""
        with open(self.folder / PLACING, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with self.locked() as claims:
                others = self.others_by_host(claims)
            yield others

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = json.loads((self.folder / FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # none yet, or unreadable: claims are rebuilt by the live cs:ups
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict) and _alive(v)}

    def take(self) -> None:
        with self.locked() as claims:
            other = claims.get(self.workspace)
            if other is not None and other.get("pid") != self.me["pid"]:
                where = f" on {other['host']}" if other.get("host") else ""
                raise LifecycleError(
                    f"{self.workspace} is being started{where} by another cs:up "
                    f"(process {other.get('pid')})",
                    "wait for it to finish; `mise run cs:list` then shows the container",
                )
            claims[self.workspace] = self.me

    def others_by_host(self, claims: dict[str, dict[str, Any]]) -> dict[str, set[str]]:
        """Workspaces other live `cs:up`s have placed, by host."""
        out: dict[str, set[str]] = {}
        for workspace, entry in claims.items():
            if workspace != self.workspace and entry.get("host"):
                out.setdefault(str(entry["host"]), set()).add(workspace)
        return out

    def hold(self, host: str) -> None:
        """Record the host this claim's workspace goes to: others count it there."""
        self.me["host"] = host
        with self.locked() as claims:
            claims[self.workspace] = self.me

    def release(self) -> None:
        with self.locked() as claims:
            if claims.get(self.workspace, {}).get("pid") == self.me["pid"]:
                del claims[self.workspace]


@contextlib.contextmanager
def claiming(workspace: str, nexus: str | None = None) -> Iterator[Claim]:
    """Hold a claim on `workspace` for the body; LifecycleError if another cs:up holds it."""
    folder = private_dir(runtime_dir() / f"nexus-{nexus or nexus_id()}")
    claim = Claim(folder, workspace)
    claim.take()
    try:
        yield claim
    finally:
        claim.release()
