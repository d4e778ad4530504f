"""Concurrent `cs:up`s of one nexus: one at a time per workspace, placements that see each other.

Placing is ask-then-start: between asking the hosts (`docker ps`) and devcontainer
creating the container, a second `cs:up` would see the same free capacity and pick the
same host, and a second `cs:up` of the same workspace would race devcontainer to a second
container. So every `cs:up` holds a claim for as long as it runs: an entry in
`<runtime dir>/nexus-<id>/claims.json` naming the workspace, its process and, once
placed, its host. Entries change only under an exclusive `flock` on `claims.lock`;
placements run one at a time under `placing.lock`, each counting the live claims of
other workspaces as workspaces on their hosts. A claim whose process is gone (killed,
crashed) is dropped when next read. A claim counts only while its `cs:up` holds
`held-<pid>.lock` (a flock, released by the kernel when the process ends, however it
ends) and its pid still names the process that started then: an entry that names pid 1,
or any process that is alive but not a `cs:up`, never blocks. A claims file that is not
a small JSON object of such entries is read as no claims (the live `cs:up`s rewrite
theirs). Scope: one clone of the nexus on one machine — the same scope as capacity
itself, which counts this nexus's containers (`coltec.nexus`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from coltec_worker.sync.state import pid_alive

from coltec.errors import LifecycleError
from coltec.runtime.secrets import private_dir, runtime_dir
from coltec.workspaces import nexus_id

FILE, LOCK = "claims.json", "claims.lock"  # the claims; held while they change (instants)
PLACING = "placing.lock"  # held while one cs:up places (asking the hosts: seconds)
MAX_FILE = 1 << 20  # one small entry per cs:up under way


def _held_file(folder: Path, pid: int) -> Path:
    return folder / f"held-{pid}.lock"


def _started(pid: int) -> str:
    """The process's start time in clock ticks since boot ("" without /proc): with the
    pid it names one process, even after the pid is reused."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return ""
    return fields[19] if len(fields) > 19 else ""  # field 22; the name may hold spaces


def _alive(folder: Path, entry: dict[str, Any]) -> bool:
    pid = entry.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or not 0 < pid < 1 << 31:
        return False
    if not pid_alive(pid):  # a zombie is not
        return False
    started = entry.get("started")
    if not isinstance(started, str) or started != _started(pid):
        return False
    try:  # held by that cs:up for as long as it runs: free means nobody holds the claim
        fd = os.open(_held_file(folder, pid), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def _read_bounded(path: Path) -> str:
    """The file's text if it is a regular file of at most MAX_FILE bytes, else ""."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return ""
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return ""
        data = handle.read(MAX_FILE + 1)
    return "" if len(data) > MAX_FILE else data.decode("utf-8", errors="replace")


# One held-<pid>.lock per process and folder, shared by its claims (cs:up --all claims
# several workspaces from threads of one process): [fd, claims holding it].
_HELD: dict[Path, list[int]] = {}
_HELD_GUARD = threading.Lock()


def _hold(folder: Path) -> None:
    with _HELD_GUARD:
        if folder in _HELD:
            _HELD[folder][1] += 1
            return
        fd = os.open(_held_file(folder, os.getpid()), os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _HELD[folder] = [fd, 1]


def _unhold(folder: Path) -> None:
    with _HELD_GUARD:
        held = _HELD.get(folder)
        if held is None:
            return
        held[1] -= 1
        if held[1] == 0:
            del _HELD[folder]
            with contextlib.suppress(OSError):
                _held_file(folder, os.getpid()).unlink()
            os.close(held[0])


class Claim:
    """This `cs:up`'s claim on a workspace (see the module docstring)."""

    def __init__(self, folder: Path, workspace: str) -> None:
        self.folder, self.workspace = folder, workspace
        self.me = {"pid": os.getpid(), "started": _started(os.getpid()), "host": ""}
        self._holding = False

    def _hold_lock(self) -> None:
        """Take held-<pid>.lock before any entry names this process (see _alive)."""
        if not self._holding:
            _hold(self.folder)
            self._holding = True

    def _drop_lock(self) -> None:
        if self._holding:
            _unhold(self.folder)
            self._holding = False

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
            data = json.loads(_read_bounded(self.folder / FILE) or "{}")
        except (ValueError, RecursionError):
            return {}  # none yet, or unreadable: claims are rebuilt by the live cs:ups
        if not isinstance(data, dict):
            return {}
        return {
            k: v
            for k, v in data.items()
            if isinstance(k, str) and isinstance(v, dict) and _alive(self.folder, v)
        }

    def take(self) -> None:
        self._hold_lock()
        with self.locked() as claims:
            other = claims.get(self.workspace)
            if other is not None and other.get("pid") != self.me["pid"]:
                host = other.get("host")
                where = f" on {host}" if isinstance(host, str) and host else ""
                self._drop_lock()
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
            host = entry.get("host")
            if workspace != self.workspace and isinstance(host, str) and host:
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
        self._drop_lock()


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
