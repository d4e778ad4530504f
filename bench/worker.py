"""Benchmark of the sync worker: footprint, idle wake-ups, --validate-only, pass overhead.

    .venv/bin/python bench/worker.py [--quick] [--idle SECONDS] [--no-write]

1. Idle RSS and PSS of the daemon with three paths after its first pass, next to a
   bare `python -c 'import time; time.sleep(60)'` peer (same interpreter).
2. Context switches of the idle daemon over a window (default 60 s; --quick: 10 s):
   the loop sleeps until the next due job, so the target is zero.
3. `coltec-worker --validate-only` wall time (median of several runs).
4. One pass of the worker vs the same rclone argv run directly, on 1,000- and
   10,000-file trees (steady state: bisync with no changes, against `rclone serve s3`).
   "worker pass" is what the daemon pays per pass (in process: guards, rclone, status);
   "--once CLI" adds the interpreter start-up of a one-shot run, shown for reference.
Writes the section "## Worker" of bench/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import machine, pss_kb, rss_kb, table, tool_env, write_section
from tests.s3 import S3Server, free_port

SPEC = """\
name: bench
metadata: {{org: acme, project: bench}}
persistence:
  enabled: true
  sync:
{items}
"""


def spec(root: Path, names: list[str], interval: int = 600) -> Path:
    items = "".join(
        f"    - {{name: {n}, path: {root / n}, remote_path: '{{org}}/{{project}}/{n}', "
        f"interval: {interval}}}\n"
        for n in names
    )
    config = root / ".devcontainer" / "workspace-spec.yaml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(SPEC.format(items=items))
    for n in names:
        (root / n).mkdir(exist_ok=True)
    return config


def tree(folder: Path, count: int) -> None:
    for i in range(count):
        sub = folder / f"d{i // 100:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"f{i:05d}.txt").write_text(f"file {i}\n")


def ctx_switches(pid: int) -> int:
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
            total += int(line.split()[1])
    return total


def wait_log(log: Path, event: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists():
            n = sum(1 for line in log.read_text().splitlines() if f'"event":"{event}"' in line)
            if n >= count:
                return
        time.sleep(0.1)
    raise RuntimeError(f"{event} x{count} not seen in {timeout}s; see {log}")


def footprint(work: Path, env: dict[str, str], idle: float) -> dict[str, float]:
    root = work / "footprint"
    config = spec(root, ["alpha", "beta", "gamma"])
    for n in ("alpha", "beta", "gamma"):
        tree(root / n, 50)
    log = root / "worker.log"
    daemon = subprocess.Popen(
        ["coltec-worker", "--config", str(config), "--start-delay", "0", "--log-file", str(log)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    peer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        wait_log(log, "run_end", 3, 120)
        time.sleep(2)  # settle
        figures = {
            "rss": rss_kb(daemon.pid) / 1024,
            "pss": pss_kb(daemon.pid) / 1024,
            "peer_rss": rss_kb(peer.pid) / 1024,
            "peer_pss": pss_kb(peer.pid) / 1024,
        }
        before = ctx_switches(daemon.pid)
        time.sleep(idle)
        figures["ctx"] = ctx_switches(daemon.pid) - before
        figures["idle"] = idle
    finally:
        daemon.terminate()
        peer.terminate()
        daemon.wait(30)
        peer.wait(30)
    return figures


def validate_time(work: Path, env: dict[str, str], repeat: int) -> tuple[float, float]:
    """Median wall time and median CPU time (user + sys) of `--validate-only`."""
    import resource

    config = spec(work / "validate", ["a", "b", "c"])
    times, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(
            ["coltec-worker", "--config", str(config), "--validate-only"],
            env=env,
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(times), statistics.median(cpus)


def pass_overhead(work: Path, env: dict[str, str], count: int, repeat: int) -> dict[str, float]:
    from coltec_worker.log import Logger
    from coltec_worker.loop import Options, Worker
    from coltec_worker.state import Layout

    root = work / f"pass{count}"
    config = spec(root, ["data"])
    tree(root / "data", count)
    run = {"env": env, "check": True, "capture_output": True}
    subprocess.run(["coltec-worker", "--config", str(config), "--once"], **run)  # first run
    plan = json.loads(
        subprocess.run(
            ["coltec-worker", "--config", str(config), "--dry-run"], text=True, **run
        ).stdout.splitlines()[0]
    )
    argv = plan["argv"]
    child_env = {**env, "RCLONE_CONFIG": "/dev/null"}
    with open(root / "worker.log", "a") as log:
        worker = Worker(
            config,
            Layout(root / ".coltec" / "state"),
            Logger(log),
            env=env,
            options=Options(start_delay=0),
        )
        worker.configure()
        direct, in_proc, cli = [], [], []
        for _ in range(repeat):
            started = time.perf_counter()
            subprocess.run(argv, env=child_env, check=True, capture_output=True)
            direct.append(time.perf_counter() - started)
            started = time.perf_counter()
            verdicts = worker.run_all()
            in_proc.append(time.perf_counter() - started)
            assert all(v.ok for v in verdicts), verdicts[0].status.error
            started = time.perf_counter()
            subprocess.run(["coltec-worker", "--config", str(config), "--once"], **run)
            cli.append(time.perf_counter() - started)
    d, w, c = (statistics.median(x) for x in (direct, in_proc, cli))
    return {"direct": d, "worker": w, "cli": c}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="10 s idle window, fewer repeats")
    parser.add_argument("--idle", type=float, default=None, help="idle window in seconds")
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/results.md")
    args = parser.parse_args(argv)
    idle = args.idle or (10.0 if args.quick else 60.0)
    repeat = 3 if args.quick else 5
    os.environ["PATH"] = tool_env()["PATH"]  # rclone and coltec-worker from .venv/bin
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        work = Path(tmp)
        (work / "s3").mkdir()
        (work / "s3" / "bench").mkdir()
        server = S3Server(root=work / "s3", bucket="bench", port=free_port())
        env = tool_env({**server.env("r2"), "COLTEC_USER_CONFIG": "", "HOME": str(work)})
        server.start()
        try:
            fp = footprint(work, env, idle)
            val = validate_time(work, env, repeat * 2)
            passes = {n: pass_overhead(work, env, n, repeat) for n in (1000, 10000)}
        finally:
            server.stop()
    rows = [
        ["Idle RSS, daemon with 3 paths after its first pass", f"{fp['rss']:.1f} MiB", "≤ 14 MB"],
        ["Idle PSS, same daemon", f"{fp['pss']:.1f} MiB", ""],
        [
            "Bare `python -c 'import time; time.sleep(…)'` RSS / PSS",
            f"{fp['peer_rss']:.1f} / {fp['peer_pss']:.1f} MiB",
            "reference",
        ],
        [f"Context switches while idle ({fp['idle']:.0f} s window)", f"{fp['ctx']:.0f}", "0"],
        [
            "`coltec-worker --validate-only` wall time (median)",
            f"{val[0] * 1000:.0f} ms",
            "≤ 150 ms",
        ],
        [
            "`coltec-worker --validate-only` CPU time, user + sys (median)",
            f"{val[1] * 1000:.0f} ms",
            "",
        ],
    ]
    for n, p in passes.items():
        over = (p["worker"] - p["direct"]) / p["direct"] * 100
        rows.append(
            [
                f"One pass, {n:,} files: rclone direct / worker pass / --once CLI",
                f"{p['direct']:.3f} / {p['worker']:.3f} / {p['cli']:.3f} s",
                f"overhead {over:+.1f} % (target ≤ 5 %)",
            ]
        )
    body = "\n".join(
        [
            "## Worker",
            "",
            f"`python bench/worker.py{' --quick' if args.quick else ''}`, {machine()}.",
            "",
            table(["Measure", "Result", "Target"], rows, "lrl"),
            "",
            "Steady-state passes (bisync, no changes) against `rclone serve s3` on 127.0.0.1; "
            f"medians of {repeat}. The worker pass is measured in process, as the daemon runs it; "
            "the --once CLI adds interpreter start-up and configuration loading.",
            "",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("## Worker", body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
