"""Benchmark: a fleet of sync workers on one host, one S3 endpoint, a driver editing files.

    .venv/bin/python bench/fleet.py [--quick] [--duration S] [--variant WORKERS:JITTER]...
                                    [--no-write] [--keep DIR]

Each worker is a real `coltec-worker` daemon with its own workspace folder, state
directory and 3 bidirectional paths, all against one `rclone serve s3`. While they
run, a driver keeps editing, creating and deleting files in every path (a bounded
loop, local files only, one operation per workspace every ~2.5 s). At the end every
worker is flushed (`coltec-worker flush`) and every file the driver ever touched is
compared by content on both sides: local tree, and the bucket as stored on disk.

Reported per variant: edits lost (must be 0), runs and failed runs (from the
workers' JSON logs), worker RSS and PSS summed over the worker processes (not their
rclone children), peak concurrent rclone processes (/proc sampled every 0.2 s), CPU
seconds of the workers plus their rclone children (/proc/PID/stat, children counted
once waited for) and of the S3 server. Variants: 50 workers with the start jitter on
(`--start-delay 60`, capped by the worker at the interval) and off (`--start-delay 0`),
then 20 and 5 workers with jitter on. Replaces the "## Fleet" section of
bench/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    BIN,
    all_stats,
    machine,
    pss_kb,
    read_stat,
    rss_kb,
    table,
    tool_env,
    write_section,
)
from tests.support.s3 import S3Server, free_port

SECTION = "## Fleet"
PATHS = ("code", "cache", "data")
# Paths the driver never touches: bisync aborts a run in which every file changed
# or more than half were deleted, so churn stays below that.
KEEP_FILES = 12
MAX_CHURN = 8
INTERVAL = 30  # the worker's minimum interval (rules.MIN_INTERVAL); see results.md
OPS_PER_WORKSPACE_S = 0.4
SAMPLE_S = 0.2
FAILED = ("failed", "timeout", "refused", "blocked", "critical")


@dataclass(frozen=True)
class Variant:
    workers: int
    jitter: bool
    duration: float

    @property
    def label(self) -> str:
        return f"{self.workers} workers, jitter {'on' if self.jitter else 'off'}"


@dataclass
class WorkerProc:
    index: int
    root: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"ws-{self.index:03d}"

    @property
    def config(self) -> Path:
        return self.root / ".devcontainer" / "workspace-spec.yaml"

    @property
    def state(self) -> Path:
        return self.root / ".coltec" / "state"

    @property
    def log(self) -> Path:
        return self.root / "worker.log"

    def path(self, name: str) -> Path:
        return self.root / name


def spec_yaml(name: str, root: Path) -> str:
    items = "".join(
        f"    - name: {p}\n"
        f"      path: {root / p}\n"
        f'      remote_path: "{{org}}/{{project}}/{{name}}/{p}"\n'
        f"      direction: bidirectional\n"
        f"      interval: {INTERVAL}\n"
        for p in PATHS
    )
    return (
        f"name: {name}\n"
        f"metadata: {{org: bench, project: fleet}}\n"
        f"persistence:\n  enabled: true\n  sync:\n{items}"
        f"  rclone_config: {{remote_name: r2, type: s3}}\n"
    )


def remote_dir(s3: S3Server, w: WorkerProc, path: str) -> Path:
    return s3.bucket_dir / "bench" / "fleet" / w.name / path


def make_workspace(root: Path, index: int) -> WorkerProc:
    w = WorkerProc(index, root / f"ws-{index:03d}")
    w.config.parent.mkdir(parents=True)
    w.config.write_text(spec_yaml(w.name, w.root), encoding="utf-8")
    for p in PATHS:
        keep = w.path(p) / "keep"
        keep.mkdir(parents=True)
        for k in range(KEEP_FILES):
            (keep / f"k{k:02d}.txt").write_text(f"{w.name} {p} keep {k}\n", encoding="utf-8")
    return w


# -- the driver ----------------------------------------------------------------------


@dataclass
class Driver:
    """Edits, creates and deletes files under <path>/churn/; remembers the final truth."""

    workers: list[WorkerProc]
    rng: random.Random
    truth: dict[tuple[int, str, str], str | None] = field(default_factory=dict)
    ops: Counter[str] = field(default_factory=Counter)
    serial: int = 0
    # (workspace, path, file) -> [(UTC time, operation)]: told when a file is lost
    history: dict[tuple[int, str, str], list[tuple[str, str]]] = field(default_factory=dict)

    def live(self, index: int, path: str) -> list[str]:
        return sorted(
            rel
            for (i, p, rel), content in self.truth.items()
            if i == index and p == path and content is not None
        )

    def step(self) -> None:
        w = self.rng.choice(self.workers)
        path = self.rng.choice(PATHS)
        live = self.live(w.index, path)
        choice = self.rng.random()
        if not live or (choice < 0.3 and len(live) < MAX_CHURN):
            op, rel = "create", f"churn/f{self.serial:05d}.txt"
        elif choice < 0.8:
            op, rel = "edit", self.rng.choice(live)
        else:
            op, rel = "delete", self.rng.choice(live)
        self.serial += 1
        target = w.path(path) / rel
        if op == "delete":
            target.unlink()
            self.truth[(w.index, path, rel)] = None
        else:
            # Sizes vary so an edit is never hidden behind an equal size and mtime.
            content = f"{w.name}/{path}/{rel} op {self.serial}\n" + "x" * self.rng.randint(0, 400)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            self.truth[(w.index, path, rel)] = content
        self.ops[op] += 1
        stamp = time.strftime("%H:%M:%S", time.gmtime()) + f".{int(time.time() * 10) % 10}"
        self.history.setdefault((w.index, path, rel), []).append((stamp, op))

    def run(self, until: float, rate: float) -> None:
        """One operation every 1/rate seconds until `until` (monotonic); bounded."""
        next_at = time.monotonic()
        limit = int((until - next_at) * rate) + 1
        for _ in range(limit):
            now = time.monotonic()
            if now >= until:
                return
            if next_at > now:
                time.sleep(next_at - now)
            self.step()
            next_at += 1.0 / rate


# -- /proc sampling ------------------------------------------------------------------


@dataclass(eq=False)
class Sampler(threading.Thread):
    worker_pids: set[int]
    peak_rclone: int = 0
    peak_rclone_rss_kb: int = 0
    peak_worker_rss_kb: int = 0
    samples: int = 0
    concurrency: Counter[int] = field(default_factory=Counter)
    stop_event: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        threading.Thread.__init__(self, daemon=True)

    def run(self) -> None:
        while not self.stop_event.wait(SAMPLE_S):
            children = [
                s.pid for s in all_stats() if s.ppid in self.worker_pids and s.comm == "rclone"
            ]
            self.samples += 1
            self.concurrency[len(children)] += 1
            self.peak_rclone = max(self.peak_rclone, len(children))
            if self.samples % 5 == 0 or children:
                self.peak_rclone_rss_kb = max(
                    self.peak_rclone_rss_kb, sum(rss_kb(pid) for pid in children)
                )
            if self.samples % 10 == 0:
                self.peak_worker_rss_kb = max(
                    self.peak_worker_rss_kb, sum(rss_kb(p) for p in self.worker_pids)
                )

    def stop(self) -> None:
        self.stop_event.set()
        self.join()

    def mean_concurrency(self) -> float:
        total = sum(self.concurrency.values())
        return sum(k * v for k, v in self.concurrency.items()) / total if total else 0.0


def cpu_seconds(pids: set[int]) -> float:
    """CPU of these processes and of their children waited for so far (and still running)."""
    total = 0.0
    for s in all_stats():
        if s.pid in pids:
            total += s.cpu_self + s.cpu_children
        elif s.ppid in pids:
            total += s.cpu_self  # a running rclone: not yet in its parent's cutime
    return total


# -- one variant ---------------------------------------------------------------------


@dataclass
class Outcome:
    variant: Variant
    files_compared: int = 0
    lost: list[str] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)
    ops: Counter[str] = field(default_factory=Counter)
    runs: Counter[str] = field(default_factory=Counter)
    worker_rss_kb: int = 0
    worker_pss_kb: int = 0
    peak_worker_rss_kb: int = 0
    peak_rclone: int = 0
    mean_rclone: float = 0.0
    peak_rclone_rss_kb: int = 0
    cpu_workers_s: float = 0.0
    cpu_server_s: float = 0.0
    flush_s: float = 0.0
    flush_failures: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def failed_runs(self) -> int:
        return sum(n for outcome, n in self.runs.items() if outcome in FAILED)


@contextmanager
def s3_server(root: Path) -> Iterator[S3Server]:
    bucket = f"fleet-{uuid.uuid4().hex[:8]}"
    (root / "s3" / bucket).mkdir(parents=True)
    server = S3Server(root=root / "s3", bucket=bucket, port=free_port(), log=root / "serve.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def start_worker(w: WorkerProc, env: dict[str, str], jitter: bool) -> None:
    argv = [
        str(BIN / "coltec-worker"),
        "--config",
        str(w.config),
        "--state-dir",
        str(w.state),
        "--log-file",
        str(w.log),
        "--start-delay",
        "60" if jitter else "0",
    ]
    w.proc = subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def flush(w: WorkerProc, env: dict[str, str]) -> tuple[int, str]:
    argv = [
        str(BIN / "coltec-worker"),
        "flush",
        "--config",
        str(w.config),
        "--state-dir",
        str(w.state),
        "--timeout",
        "600",
    ]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    return done.returncode, (done.stdout + done.stderr).strip()


def read_log(w: WorkerProc) -> list[dict[str, object]]:
    events: list[dict[str, object]] = []
    if not w.log.exists():
        return events
    for line in w.log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events


def tree(root: Path) -> dict[str, str]:
    if not root.is_dir():
        return {}
    return {
        p.relative_to(root).as_posix(): p.read_text(encoding="utf-8", errors="replace")
        for p in root.rglob("*")
        if p.is_file()
    }


# `rclone serve s3` (the test endpoint) keeps an upload in progress as this temporary
# file in the served folder; one left by a killed upload is the endpoint's, not a file.
ENDPOINT_TEMP = ".rclone_temp_put_"


def compare(
    s3: S3Server, workers: list[WorkerProc], driver: Driver
) -> tuple[int, list[str], list[str], list[str]]:
    """Every file on both sides against the truth: (compared, lost, deletes undone, extra).

    Lost: a file's last content is missing or stale on a side. Deletes undone: a file
    the driver deleted is back, with content it had — nothing is lost, but the delete is.
    Extra: a file the driver never wrote — bisync's numbered copy of a conflict's loser
    (both versions are kept by design).
    """
    lost: list[str] = []
    undone: list[str] = []
    extra: list[str] = []
    compared = 0
    for w in workers:
        for p in PATHS:
            expected = {f"keep/k{k:02d}.txt": f"{w.name} {p} keep {k}\n" for k in range(KEEP_FILES)}
            for (i, path, rel), content in driver.truth.items():
                if i == w.index and path == p and content is not None:
                    expected[rel] = content
            for side, actual in (
                ("local", tree(w.path(p))),
                ("remote", tree(remote_dir(s3, w, p))),
            ):
                for rel in sorted(set(expected) | set(actual)):
                    if ENDPOINT_TEMP in rel:
                        continue
                    compared += 1
                    want, got = expected.get(rel), actual.get(rel)
                    if want == got:
                        continue
                    what = (
                        "missing"
                        if got is None
                        else ("resurrected/extra" if want is None else "stale content")
                    )
                    ops = " ".join(
                        f"{t} {op}" for t, op in driver.history.get((w.index, p, rel), [])
                    )
                    runs = " ".join(
                        f"{e.get('time', '')[11:19]} {e.get('event')}"
                        + (" resync" if e.get("resync") else "")
                        for e in read_log(w)
                        if e.get("path") == p and e.get("event") in ("run_start", "run_end")
                    )
                    line = (
                        f"{w.name}/{p}/{rel} ({side}: {what}; driver: {ops or '-'}; runs: {runs})"
                    )
                    if want is not None:
                        lost.append(line)
                    elif ops.endswith("delete"):
                        undone.append(line)
                    else:  # never written by the driver: bisync's copy of a conflict's loser
                        extra.append(line)
    return compared, lost, undone, extra


def run_variant(variant: Variant, base: Path, seed: int = 7) -> Outcome:
    out = Outcome(variant)
    root = Path(
        tempfile.mkdtemp(prefix=f"w{variant.workers}-{variant.label[-3:].strip()}-", dir=base)
    )
    with s3_server(root) as s3:
        env = tool_env({**s3.env("r2"), "COLTEC_USER_CONFIG": "", "COLTEC_BACKOFF_BASE": "15"})
        workers = [make_workspace(root / "workspaces", i) for i in range(variant.workers)]
        driver = Driver(workers, random.Random(seed))
        server = read_stat(s3._proc.pid) if s3._proc else None
        server_cpu0 = server.cpu_self if server else 0.0
        started = time.monotonic()
        sampler = Sampler(set())
        try:
            for w in workers:
                start_worker(w, env, variant.jitter)
            pids = {w.proc.pid for w in workers if w.proc}
            sampler.worker_pids.update(pids)
            sampler.start()
            driver.run(started + variant.duration, OPS_PER_WORKSPACE_S * variant.workers)
            out.cpu_workers_s = cpu_seconds(pids)
            server = read_stat(s3._proc.pid) if s3._proc else None
            out.cpu_server_s = (server.cpu_self if server else 0.0) - server_cpu0
            out.worker_rss_kb = sum(rss_kb(p) for p in pids)
            out.worker_pss_kb = sum(pss_kb(p) for p in pids)
            sampler.stop()
            flush_start = time.monotonic()
            with ThreadPoolExecutor(max_workers=8) as pool:
                results = list(pool.map(lambda w: flush(w, env), workers))
            out.flush_s = time.monotonic() - flush_start
            for w, (code, text) in zip(workers, results, strict=True):
                if code != 0:
                    out.flush_failures += 1
                    out.errors.append(f"flush {w.name}: exit {code}: {text[-300:]}")
        finally:
            sampler.stop_event.set()
            for w in workers:
                if w.proc and w.proc.poll() is None:
                    w.proc.send_signal(signal.SIGTERM)
            for w in workers:
                if w.proc:
                    try:
                        w.proc.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        w.proc.kill()
                        w.proc.wait()
        out.peak_rclone, out.mean_rclone = sampler.peak_rclone, sampler.mean_concurrency()
        out.peak_rclone_rss_kb = sampler.peak_rclone_rss_kb
        out.peak_worker_rss_kb = sampler.peak_worker_rss_kb
        out.ops = driver.ops
        out.files_compared, out.lost, out.undone, out.extra = compare(s3, workers, driver)
        for w in workers:
            for event in read_log(w):
                if event.get("event") != "run_end":
                    continue
                out.runs[str(event.get("outcome"))] += 1
                if event.get("outcome") in (*FAILED, "recovered"):
                    out.errors.append(f"{w.name}/{event.get('path')}: {event.get('error')}")
    return out


# -- report --------------------------------------------------------------------------


def mib(kb: int) -> str:
    return f"{kb / 1024:.0f} MiB"


def report(outcomes: list[Outcome], argv_line: str) -> str:
    header = [
        "variant",
        "run (s)",
        "driver ops",
        "files compared",
        "edits lost",
        "deletes undone",
        "conflict copies",
        "runs",
        "failed runs",
        "critical → recovered",
        "worker RSS (sum)",
        "worker PSS (sum)",
        "RSS per worker",
        "peak rclone",
        "mean rclone",
        "CPU s workers+rclone",
        "CPU % of 1 core",
        "CPU s S3 server",
        "final flush (s)",
    ]
    rows = []
    for o in outcomes:
        v = o.variant
        rows.append(
            [
                v.label,
                f"{v.duration:.0f}",
                str(sum(o.ops.values())),
                str(o.files_compared),
                f"**{len(o.lost)}**",
                str(len(o.undone)),
                str(len(o.extra)),
                str(sum(o.runs.values())),
                str(o.failed_runs),
                str(o.runs.get("recovered", 0)),
                mib(o.worker_rss_kb),
                mib(o.worker_pss_kb),
                f"{o.worker_rss_kb / 1024 / v.workers:.1f} MiB",
                str(o.peak_rclone),
                f"{o.mean_rclone:.1f}",
                f"{o.cpu_workers_s:.0f}",
                f"{o.cpu_workers_s / v.duration * 100:.0f} %",
                f"{o.cpu_server_s:.0f}",
                f"{o.flush_s:.1f}",
            ]
        )
    lines = [
        SECTION,
        "",
        f"`{argv_line}` — {machine()}.",
        "",
        f"Each worker: 3 bidirectional paths, interval {INTERVAL} s (the worker refuses less; "
        f"the issue asked for 20 s), {KEEP_FILES} untouched files per path plus up to "
        f"{MAX_CHURN} the driver churns; the driver does {OPS_PER_WORKSPACE_S} operations per "
        "workspace per second (edit 50 %, create 30 %, delete 20 %), local files only. "
        "After the run every worker is flushed and every file is compared by content on "
        "both sides. RSS/PSS: worker processes only, at the end of the run; CPU: workers "
        "plus their rclone children over the run (before the final flush).",
        "",
        table(header, rows),
    ]
    by_workers = {(o.variant.workers, o.variant.jitter): o for o in outcomes}
    for n in sorted({o.variant.workers for o in outcomes}):
        on, off = by_workers.get((n, True)), by_workers.get((n, False))
        if on and off:
            lines += [
                "",
                f"Start jitter at {n} workers (on vs off): peak concurrent rclone "
                f"{on.peak_rclone} vs {off.peak_rclone}, mean {on.mean_rclone:.1f} vs "
                f"{off.mean_rclone:.1f}, failed runs {on.failed_runs} vs {off.failed_runs}, "
                f"CPU {on.cpu_workers_s:.0f} s vs {off.cpu_workers_s:.0f} s.",
            ]
    jittered = sorted((o for o in outcomes if o.variant.jitter), key=lambda o: o.variant.workers)
    if len(jittered) > 1:
        small, big = jittered[0], jittered[-1]
        ratio = big.variant.workers / small.variant.workers
        lines += [
            "",
            f"Growth {small.variant.workers} → {big.variant.workers} workers (×{ratio:.0f}): "
            f"RSS ×{big.worker_rss_kb / max(small.worker_rss_kb, 1):.1f}, "
            f"CPU ×{big.cpu_workers_s / max(small.cpu_workers_s, 0.01):.1f}, "
            f"peak rclone {small.peak_rclone} → {big.peak_rclone}.",
        ]
    lost = [f"{o.variant.label}: {x}" for o in outcomes for x in o.lost]
    errors = [f"{o.variant.label}: {e[:300]}" for o in outcomes for e in o.errors]
    undone = [f"{o.variant.label}: {x}" for o in outcomes for x in o.undone]
    if lost:
        lines += ["", "Lost (first 10):", "", *(f"- {x}" for x in lost[:10])]
    extra = [f"{o.variant.label}: {x}" for o in outcomes for x in o.extra]
    if undone:
        lines += ["", "Deletes undone (first 10):", "", *(f"- {x}" for x in undone[:10])]
    if extra:
        lines += ["", "Conflict copies kept (first 10):", "", *(f"- {x}" for x in extra[:10])]
    if errors:
        lines += ["", "Failed or recovered runs (first 10):", "", *(f"- {e}" for e in errors[:10])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="40 s runs of 10 workers (smoke)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per variant")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="WORKERS:on|off",
        help="run these variants (repeatable; default 50:on 50:off 20:on 5:on)",
    )
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/results.md")
    parser.add_argument("--keep", type=Path, default=None, help="keep the trees in this folder")
    args = parser.parse_args(argv)
    os.environ["PATH"] = tool_env()["PATH"]  # rclone for the S3 server
    duration = args.duration or (40.0 if args.quick else 180.0)
    specs = args.variant or (
        ["10:on", "10:off"] if args.quick else ["50:on", "50:off", "20:on", "5:on"]
    )
    variants = []
    for spec in specs:
        n, _, jitter = spec.partition(":")
        variants.append(Variant(int(n), jitter != "off", duration))
    base = args.keep or Path(tempfile.mkdtemp(prefix="coltec-fleet-"))
    base.mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    try:
        for v in variants:
            print(f"fleet: {v.label}, {v.duration:.0f} s ...", file=sys.stderr, flush=True)
            o = run_variant(v, base)
            print(
                f"fleet: {v.label}: lost {len(o.lost)}, deletes undone {len(o.undone)}, "
                f"conflict copies {len(o.extra)}, "
                f"runs {sum(o.runs.values())}, "
                f"failed {o.failed_runs}, peak rclone {o.peak_rclone}, "
                f"CPU {o.cpu_workers_s:.0f} s, RSS {mib(o.worker_rss_kb)}",
                file=sys.stderr,
                flush=True,
            )
            outcomes.append(o)
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    line = "python bench/fleet.py" + (" --quick" if args.quick else "")
    if args.duration:
        line += f" --duration {args.duration:.0f}"
    body = report(outcomes, line)
    print(body)
    if not args.no_write:
        write_section(SECTION, body)
    return 0 if all(not o.lost for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
