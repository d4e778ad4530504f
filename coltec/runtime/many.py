"""Fleet operations: `cs:up` and `cs:down` of many workspaces at once.

- Bounded: at most `jobs` workspaces at a time (default_jobs()), each one in a thread
  that does exactly what the one-workspace command does. The work is waiting on
  devcontainer and docker processes, so threads are enough.
- One line per workspace as it finishes (`report`), then one summary (Run); the run
  fails when any workspace failed, and names each.
- Interruptible, never half-way: Ctrl-C stops the dispatch of new workspaces; the ones
  in flight finish (their devcontainer/docker children run in their own session,
  proc.shielded, so the terminal's Ctrl-C does not kill them half-way); the others are
  untouched and reported "not started".
- Down: every worker is flushed first (the final sync); only then are containers
  stopped — those whose final sync succeeded, all of them with `force`. One whose sync
  failed keeps running, so nothing is lost. An interrupt during the flushes stops none.

Where each workspace goes (placement, the host its container is on) is the caller's:
this module is handed a `start` for up and the containers found for down.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from coltec import proc
from coltec.errors import ColtecError, UsageError
from coltec.runtime.docker import Container, DockerEngine
from coltec.runtime.running import FLUSH_TIMEOUT, flush, stop
from coltec.workspaces import Workspace, all_workspaces, check_name, existing_workspace

MAX_DEFAULT_JOBS = 8
POLL = 0.2  # seconds between looks at the interrupt flag while waiting


def default_jobs() -> int:
    """Two per CPU, at most MAX_DEFAULT_JOBS: a `devcontainer up` mostly waits on docker."""
    return max(1, min(MAX_DEFAULT_JOBS, 2 * (os.cpu_count() or 1)))


def targets(words: Sequence[str], *, every: bool, task: str) -> list[Workspace] | None:
    """The workspaces `cs:up`/`cs:down` act on: None for one ORG/NAME (the one-workspace
    command), else every one (--all), an org's (ORG/), or the ORG/NAMEs given, in order."""
    words = list(words or [])
    if every and any(not w.endswith("/") for w in words):
        raise UsageError(
            "give --all (or ORG/) or workspaces by name, not both",
            f"e.g. `mise run {task} --all` or `mise run {task} acme/`",
        )
    if not words and not every:
        raise UsageError("expected ORG/NAME, ORG/ or --all", f"e.g. `mise run {task} acme/api-dev`")
    if len(words) == 1 and not every and not words[0].endswith("/"):
        return None
    found = all_workspaces()
    if not words:
        if not found:
            raise UsageError("no workspaces yet", "create one with `mise run cs:new ORG/NAME`")
        return found
    chosen: list[Workspace] = []
    for word in words:
        if word.endswith("/"):
            org = word.rstrip("/")
            check_name("org", org)
            mine = [w for w in found if w.org == org]
            if not mine:
                orgs = ", ".join(sorted({w.org for w in found})) or "none yet"
                raise UsageError(f"no workspaces in {org}/", f"orgs: {orgs}")
        else:
            mine = [existing_workspace(word)]
        chosen += [w for w in mine if w.key not in {c.key for c in chosen}]
    return chosen


def matching(words: Sequence[str]) -> Callable[[str], bool]:
    """cs:list's filter: a test of ORG/NAME keys, every word an existing ORG (or ORG/) or
    ORG/NAME (UsageError otherwise, exit 2). No words: everything."""
    orgs: set[str] = set()
    keys: set[str] = set()
    for word in words:
        if "/" in word.rstrip("/"):
            keys.add(existing_workspace(word).key)
            continue
        org = word.rstrip("/")
        check_name("org", org)
        found = all_workspaces()
        if not any(w.org == org for w in found):
            known = ", ".join(sorted({w.org for w in found})) or "none yet"
            raise UsageError(
                f"no workspaces in {org}/", f"`mise run cs:list` shows them; orgs: {known}"
            )
        orgs.add(org)
    if not words:
        return lambda key: True
    return lambda key: key in keys or key.split("/")[0] in orgs


@dataclass(frozen=True)
class Done:
    """What happened to one workspace."""

    workspace: str
    state: str  # up | flushed | stopped | removed | no container | not running |
    #             kept running | failed | not started
    ok: bool
    detail: str = ""  # where it runs, or why it failed
    seconds: float = 0.0


@dataclass
class Run:
    action: str  # "up" or "down"
    done: list[Done] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failed(self) -> list[Done]:
        return [d for d in self.done if not d.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted


Report = Callable[[Done], None]


@contextmanager
def _interrupt_flag() -> Iterator[threading.Event]:
    """Ctrl-C sets the flag instead of raising in the middle of the bookkeeping."""
    flag = threading.Event()
    try:
        previous = signal.signal(signal.SIGINT, lambda *_: flag.set())
    except ValueError:  # not the main thread (a library caller): no handler to install
        yield flag
        return
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def _timed(work: Callable[[Workspace], Done], ws: Workspace) -> Done:
    started = time.monotonic()
    try:
        done = work(ws)
    except ColtecError as exc:
        done = Done(ws.key, "failed", False, exc.message)
    except Exception as exc:  # one workspace's bug must not abandon the others mid-way
        done = Done(ws.key, "failed", False, f"{type(exc).__name__}: {exc}")
    return replace(done, seconds=time.monotonic() - started)


def run_bounded(
    items: Sequence[Workspace],
    work: Callable[[Workspace], Done],
    jobs: int,
    report: Report,
    on_interrupt: Callable[[int, int], None] = lambda running, left: None,
) -> tuple[list[Done], bool]:
    """`work` on every item, at most `jobs` at a time; (results in item order, interrupted).

    An interrupt (SIGINT) lets what runs finish and starts nothing more: the items not
    started come back as "not started". `on_interrupt(in flight, not started)` is told once.
    """
    results: dict[str, Done] = {}
    pending = list(items)
    running: dict[Future[Done], Workspace] = {}
    interrupted = False
    with _interrupt_flag() as flag, proc.shielded(), ThreadPoolExecutor(max(1, jobs)) as pool:
        while pending or running:
            if flag.is_set() and not interrupted:
                interrupted = True
                on_interrupt(len(running), len(pending))
            while pending and len(running) < jobs and not interrupted:
                ws = pending.pop(0)
                running[pool.submit(_timed, work, ws)] = ws
            if not running:
                break
            finished, _ = wait(running, timeout=POLL, return_when=FIRST_COMPLETED)
            for future in finished:
                ws = running.pop(future)
                results[ws.key] = future.result()
                report(results[ws.key])
    for ws in pending:
        results[ws.key] = Done(ws.key, "not started", False, "interrupted before its turn")
    return [results[ws.key] for ws in items], interrupted


def up_all(
    workspaces: Sequence[Workspace],
    start: Callable[[Workspace], str],
    *,
    jobs: int,
    report: Report,
    on_interrupt: Callable[[int, int], None] = lambda running, left: None,
) -> Run:
    """`start` (the one-workspace cs:up, returning where it runs) on every workspace."""
    done, interrupted = run_bounded(
        workspaces, lambda ws: Done(ws.key, "up", True, start(ws)), jobs, report, on_interrupt
    )
    return Run("up", done, interrupted)


Found = Mapping[str, tuple[DockerEngine, Container]]  # workspace -> its engine and container


def down_all(
    workspaces: Sequence[Workspace],
    found: Found,
    *,
    jobs: int,
    report: Report,
    force: bool = False,
    remove: bool = False,
    timeout: int = FLUSH_TIMEOUT,
    unreachable: Sequence[str] = (),
    on_interrupt: Callable[[int, int], None] = lambda running, left: None,
) -> Run:
    """Flush every running worker, then stop the containers it is safe to stop.

    `unreachable`: hosts that did not answer ("name: error"); a workspace not found
    elsewhere may run there, so it fails (unknown) instead of passing as "no container".
    """
    settled: dict[str, Done] = {}
    to_flush, to_stop = [], []
    for ws in workspaces:
        if ws.key not in found and unreachable:
            why = f"not on any reachable host; not asked: {'; '.join(unreachable)}"
            settled[ws.key] = Done(ws.key, "unknown", False, why)
        elif ws.key not in found:
            settled[ws.key] = Done(ws.key, "no container", True)
        elif found[ws.key][1].running:
            to_flush.append(ws)
        elif remove:
            to_stop.append(ws)
        else:
            settled[ws.key] = Done(ws.key, "not running", True)
        if ws.key in settled:
            report(settled[ws.key])

    def flush_one(ws: Workspace) -> Done:
        engine, container = found[ws.key]
        flushed, message = flush(engine, container, timeout)
        if flushed:
            return Done(ws.key, "flushed", True)
        last = message.strip().splitlines()[-1:] or ["no answer"]
        return Done(ws.key, "failed", False, f"final sync failed: {last[0]}")

    flushes, interrupted = run_bounded(to_flush, flush_one, jobs, report, on_interrupt)
    for d in flushes:
        if d.state == "flushed" or (force and d.state == "failed"):
            to_stop.append(next(ws for ws in to_flush if ws.key == d.workspace))
        elif d.state == "failed":
            settled[d.workspace] = replace(
                d, state="kept running", detail=d.detail + " (nothing is lost; --force stops it)"
            )
        else:
            settled[d.workspace] = d
    if interrupted:  # nothing is stopped after an interrupt: every workspace stays as it was
        for ws in to_stop:
            settled[ws.key] = Done(ws.key, "kept running", False, "interrupted before the stop")
        to_stop = []
    forced = {d.workspace for d in flushes if d.state == "failed" and force}

    def stop_one(ws: Workspace) -> Done:
        engine, container = found[ws.key]
        stop(engine, container, remove=remove)
        note = "without its final sync (--force)" if ws.key in forced else ""
        return Done(ws.key, "removed" if remove else "stopped", True, note)

    stops, stop_interrupted = run_bounded(to_stop, stop_one, jobs, report, on_interrupt)
    settled.update({d.workspace: d for d in stops})
    done = [settled[ws.key] for ws in workspaces]
    return Run("down", done, interrupted or stop_interrupted)
