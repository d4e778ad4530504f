"""`cs:move ORG/NAME --to HOST`: the workspace leaves one host for another, nothing lost.

Steps, each timed and reported as it ends:
1. final sync on the source (the worker's flush); a failure stops the move, unless
   `force` — then the source keeps running and nothing is changed;
2. stop the source container;
3. start the workspace on the target (cs:up there: a named volume on a remote host);
4. wait for the target's first successful sync (a flush of its worker: every path
   synced from the bucket, or the move fails and the stopped source is kept);
5. remove the source container; its volume stays until `purge`.
The bucket is the hand-over: what step 1 put there, step 4 brings down.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from coltec.errors import LifecycleError, UsageError
from coltec.hosts.claims import claiming
from coltec.hosts.hostsfile import Host, HostsFile, load_hosts
from coltec.hosts.placement import where_is
from coltec.hosts.remote import remove_volume
from coltec.hosts.target import start_on
from coltec.runtime.docker import CONTAINER_WORKSPACE, container_for, ping
from coltec.runtime.running import FLUSH_TIMEOUT, STOP_TIMEOUT, flush
from coltec.workspaces import Workspace


@dataclass
class Step:
    name: str
    seconds: float
    detail: str = ""


@dataclass
class MoveResult:
    workspace: str
    source: str
    target: str
    steps: list[Step] = field(default_factory=list)
    files: int = 0
    bytes: int = 0
    forced: bool = False
    purged: bool = False

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 2)}


OnStep = Callable[[Step], None]


class _Steps:
    def __init__(self, result: MoveResult, report: OnStep) -> None:
        self.result, self.report = result, report

    @contextmanager
    def step(self, name: str) -> Iterator[Step]:
        step = Step(name, 0.0)
        started = time.monotonic()
        yield step
        step.seconds = time.monotonic() - started
        self.result.steps.append(step)
        self.report(step)


def measure(host: Host, container_id: str) -> tuple[int, int]:
    """(files, bytes) under /workspace in the container, the worker's state excluded."""
    script = (
        f'cd "{CONTAINER_WORKSPACE}" && find . -path ./.coltec -prune -o -type f -print0 '
        "| xargs -0 -r stat -c %s | awk '{n++; s+=$1} END {print n+0, s+0}'"
    )
    result = host.engine().run(["exec", container_id, "sh", "-c", script], check=False)
    try:
        files, size = result.stdout.split()
        return int(files), int(size)
    except ValueError:
        return 0, 0


def move(
    hosts: HostsFile,
    ws: Workspace,
    to: str,
    *,
    up: Callable[[Host, Workspace], Any],
    force: bool = False,
    purge: bool = False,
    timeout: int = FLUSH_TIMEOUT,
    report: OnStep = lambda step: None,
) -> MoveResult:
    """Move `ws` to host `to`; `up(host, ws)` starts it there (local or remote cs:up)."""
    target = hosts.get(to)
    located = where_is(hosts, ws.key)
    source, container = located.host, located.container
    if source.name == target.name:
        raise UsageError(f"{ws.key} is already on {target.name}", "nothing to move")
    ping(target.engine())  # before touching the source: the target must answer
    result = MoveResult(ws.key, source.name, target.name, forced=force)
    steps = _Steps(result, report)
    src = source.engine()
    with steps.step(f"final sync on {source.name}") as step:
        if container.running:
            ok, message = flush(src, container, timeout)
            said = [line.strip() for line in message.splitlines() if line.strip()]
            last = next((s for s in reversed(said) if not s.startswith("hint:")), "")
            if not ok and not force:
                raise LifecycleError(
                    f"{ws.key}: the final sync on {source.name} failed; nothing was moved "
                    f"and the container keeps running\n{message}".rstrip(),
                    f"see `mise run cs:logs {ws.key}`; or move anyway with --force "
                    "(the last edits may then stay behind on the source)",
                )
            step.detail = "ok" if ok else f"FAILED (--force): {last}"
        else:
            step.detail = f"container {container.state}: nothing to flush"
    with steps.step(f"stop on {source.name}") as step:
        if container.running:
            src.run(["stop", "--time", str(STOP_TIMEOUT), container.id], timeout=STOP_TIMEOUT + 60)
        step.detail = f"container {container.id[:12]}"
    with steps.step(f"start on {target.name}") as step:
        started = up(target, ws)
        step.detail = f"container {str(getattr(started, 'container_id', ''))[:12]}"
    dst = target.engine()
    moved = container_for(dst, ws)
    if moved is None or not moved.running:
        raise LifecycleError(
            f"{ws.key}: no running container on {target.name} after cs:up; the stopped "
            f"source on {source.name} is kept",
            f"start it again there with `mise run cs:up {ws.key}`",
        )
    with steps.step(f"first sync on {target.name}") as step:
        ok, message = flush(dst, moved, timeout)
        if not ok:
            raise LifecycleError(
                f"{ws.key}: the first sync on {target.name} failed; the stopped source on "
                f"{source.name} is kept\n{message}".rstrip(),
                f"see `mise run cs:logs {ws.key}`",
            )
        result.files, result.bytes = measure(target, moved.id)
        step.detail = f"{result.files} files, {result.bytes} bytes in /workspace"
    with steps.step(f"remove on {source.name}") as step:
        src.run(["rm", "--force", container.id], timeout=120)
        if purge and not source.local:
            result.purged = remove_volume(source, ws)
            step.detail = "container and volume removed"
        else:
            step.detail = "container removed; " + (
                "its folder in the nexus stays" if source.local else "volume kept (--purge)"
            )
    return result


def move_workspace(
    ws: Workspace, to: str, *, force: bool, purge: bool, timeout: int, report: OnStep,
    begin: Callable[[str, str], None] = lambda key, to: None,
) -> MoveResult:  # fmt: skip
    """cs:move: `ws` to the host named `to` of the hosts file; `begin` once it checked out."""
    if not to:
        raise UsageError(
            "expected one workspace ORG/NAME and --to HOST",
            "e.g. `mise run cs:move acme/api-dev --to build2`",
        )
    hostsfile = load_hosts()
    if hostsfile.path is None:
        raise UsageError(
            "cs:move needs a hosts file (there is only the local engine)",
            "list your hosts in hosts.yaml at the nexus root (README § Hosts)",
        )
    with claiming(ws.key) as claim:  # no cs:up of it meanwhile; others count it on `to`
        claim.hold(hostsfile.get(to).name)
        begin(ws.key, to)
        return move(
            hostsfile, ws, to, up=start_on, force=force, purge=purge, timeout=timeout, report=report
        )
