"""Benchmark of the sync worker as installed in production: footprint, idle wake-ups,
--validate-only against a bare interpreter, and the CPU cost of a pass against raw rclone.

    .venv/bin/python bench/worker.py [--quick] [--idle SECONDS] [--no-write]

The worker is installed into a fresh virtual environment from ./worker (a built wheel,
not editable; pip compiles the bytecode), as in the base image. Every figure is taken
next to a peer in the same run:

1. Idle RSS and anonymous memory (RssAnon) of the daemon with three paths after its
   first pass, next to a bare interpreter sleeping, and to a bare interpreter that has
   imported `schedule` (the scheduler's own cost).
2. Context switches of the idle daemon over a window (default 60 s; --quick: 10 s): the
   loop sleeps until the next due job, so the target is zero.
3. `coltec-worker --validate-only` wall time against `python -c pass` (same interpreter,
   same way of starting it, interleaved): the ratio.
4. One pass on 1,000 and 10,000 files (bisync, no changes, against `rclone serve s3`):
   the running daemon's pass (SIGUSR1; its own CPU plus its rclone's) against the same
   rclone argv run directly, alternating which goes first; CPU-time ratio and wall times.
Writes the section "## Worker" of bench/results.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, machine, read_stat, table, tool_env, write_section
from tests.support.s3 import S3Server, free_port

SPEC = """\
name: bench
metadata: {{org: acme, project: bench}}
persistence:
  enabled: true
  sync:
{items}
"""


def install(work: Path, source: Path = REPO / "worker") -> Path:
    """A production-like install of the worker: venv, wheel from `source`, bytecode compiled."""
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "-q",
            "--disable-pip-version-check",
            "--no-cache-dir",  # a cached wheel of the same version would hide the source
            f"{source}[validate]",
        ],
        check=True,
        capture_output=True,
    )
    return venv / "bin"


def spec(root: Path, names: list[str], interval: int = 3600) -> Path:
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


def status_kib(pid: int) -> dict[str, int]:
    """VmRSS, RssAnon, RssFile of /proc/PID/status in KiB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0])
    return out


def ctx_switches(pid: int) -> int:
    total = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
            total += int(line.split()[1])
    return total


def count_events(log: Path, event: str) -> int:
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text().splitlines() if f'"event":"{event}"' in line)


def wait_log(log: Path, event: str, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count_events(log, event) >= count:
            return
        time.sleep(0.02)
    raise RuntimeError(f"{event} x{count} not seen in {timeout}s; see {log}")


def start_daemon(
    bin_dir: Path, config: Path, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(bin_dir / "coltec-worker"),
            "--config",
            str(config),
            "--start-delay",
            "0",
            "--log-file",
            str(log),
        ],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def footprint(bin_dir: Path, work: Path, env: dict[str, str], idle: float) -> dict[str, float]:
    root = work / "footprint"
    config = spec(root, ["alpha", "beta", "gamma"])
    for n in ("alpha", "beta", "gamma"):
        tree(root / n, 50)
    log = root / "worker.log"
    python = str(bin_dir / "python")
    daemon = start_daemon(bin_dir, config, env, log)
    bare = subprocess.Popen([python, "-c", "import time; time.sleep(600)"], env=env)
    sched = subprocess.Popen([python, "-c", "import schedule, time; time.sleep(600)"], env=env)
    try:
        wait_log(log, "run_end", 3, 120)
        time.sleep(2)  # settle
        figures = {f"daemon_{k}": v / 1024 for k, v in status_kib(daemon.pid).items()}
        figures.update({f"bare_{k}": v / 1024 for k, v in status_kib(bare.pid).items()})
        figures.update({f"sched_{k}": v / 1024 for k, v in status_kib(sched.pid).items()})
        before = ctx_switches(daemon.pid)
        time.sleep(idle)
        figures["ctx"] = ctx_switches(daemon.pid) - before
        figures["idle"] = idle
    finally:
        for proc in (daemon, bare, sched):
            proc.terminate()
            proc.wait(30)
    return figures


def validate_ratio(bin_dir: Path, work: Path, env: dict[str, str], repeat: int) -> dict[str, float]:
    """Median wall times of --validate-only and of `python -c pass`, interleaved."""
    config = spec(work / "validate", ["a", "b", "c"])
    commands = {
        "validate": [str(bin_dir / "coltec-worker"), "--config", str(config), "--validate-only"],
        "bare": [str(bin_dir / "python"), "-c", "pass"],
    }
    times: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            started = time.perf_counter()
            subprocess.run(argv, env=env, check=True, capture_output=True)
            times[name].append(time.perf_counter() - started)
    out = {k: statistics.median(v) for k, v in times.items()}
    out["ratio"] = out["validate"] / out["bare"]
    return out


def cpu_of(pid: int) -> float:
    stat = read_stat(pid)
    assert stat is not None
    return stat.cpu_self + stat.cpu_children


def pass_cost(
    bin_dir: Path, work: Path, env: dict[str, str], count: int, repeat: int
) -> dict[str, float]:
    """The daemon's pass (SIGUSR1) vs the same rclone argv run directly; order alternates."""
    root = work / f"pass{count}"
    config = spec(root, ["data"])
    tree(root / "data", count)
    worker = str(bin_dir / "coltec-worker")
    run = {"env": env, "check": True, "capture_output": True}
    subprocess.run([worker, "--config", str(config), "--once"], **run)  # first run (resync)
    plan = json.loads(
        subprocess.run(
            [worker, "--config", str(config), "--dry-run"], text=True, **run
        ).stdout.splitlines()[0]
    )
    argv, child_env = plan["argv"], {**env, "RCLONE_CONFIG": "/dev/null"}
    log = root / "worker.log"
    daemon = start_daemon(bin_dir, config, env, log)
    try:
        wait_log(log, "run_end", 1, 120)
        direct: list[tuple[float, float]] = []
        daemon_pass: list[tuple[float, float]] = []

        def run_direct() -> None:
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            started = time.perf_counter()
            subprocess.run(argv, env=child_env, check=True, capture_output=True)
            wall = time.perf_counter() - started
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
            direct.append((wall, cpu))

        def run_daemon() -> None:
            done = count_events(log, "run_end")
            cpu = cpu_of(daemon.pid)
            started = time.perf_counter()
            os.kill(daemon.pid, signal.SIGUSR1)
            wait_log(log, "run_end", done + 1, 300)
            wall = time.perf_counter() - started
            daemon_pass.append((wall, cpu_of(daemon.pid) - cpu))

        for i in range(repeat):
            first, second = (run_direct, run_daemon) if i % 2 == 0 else (run_daemon, run_direct)
            first()
            second()
    finally:
        daemon.terminate()
        daemon.wait(30)
    d_wall, d_cpu = (statistics.median(x) for x in zip(*direct, strict=True))
    w_wall, w_cpu = (statistics.median(x) for x in zip(*daemon_pass, strict=True))
    return {"direct_wall": d_wall, "direct_cpu": d_cpu, "worker_wall": w_wall, "worker_cpu": w_cpu}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="10 s idle window, fewer repeats")
    parser.add_argument("--idle", type=float, default=None, help="idle window in seconds")
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/results.md")
    parser.add_argument(
        "--worker-source",
        type=Path,
        default=REPO / "worker",
        help="install the worker from this folder (e.g. an older checkout, for before/after)",
    )
    args = parser.parse_args(argv)
    idle = args.idle or (10.0 if args.quick else 60.0)
    repeat = 3 if args.quick else 7
    os.environ["PATH"] = tool_env()["PATH"]  # rclone from .venv/bin
    with tempfile.TemporaryDirectory(prefix="bench-worker-") as tmp:
        work = Path(tmp)
        bin_dir = install(work, args.worker_source.resolve())
        (work / "s3" / "bench").mkdir(parents=True)
        server = S3Server(root=work / "s3", bucket="bench", port=free_port())
        env = tool_env({**server.env("r2"), "COLTEC_USER_CONFIG": "", "HOME": str(work)})
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # production runs from compiled bytecode
        server.start()
        try:
            fp = footprint(bin_dir, work, env, idle)
            val = validate_ratio(bin_dir, work, env, repeat * 3)
            passes = {n: pass_cost(bin_dir, work, env, n, repeat) for n in (1000, 10000)}
        finally:
            server.stop()
    print(body := render(fp, val, passes, args.quick, repeat))
    if not args.no_write:
        write_section("## Worker", body)
    return 0


def render(
    fp: dict[str, float],
    val: dict[str, float],
    passes: dict[int, dict[str, float]],
    quick: bool,
    repeat: int,
) -> str:
    mib = "{:.1f} MiB".format
    rows = [
        ["Daemon idle RSS, 3 paths after its first pass", mib(fp["daemon_VmRSS"]), "≤ 13.5 MiB"],
        ["Daemon idle anonymous memory (RssAnon)", mib(fp["daemon_RssAnon"]), "≤ 7 MiB"],
        [
            "Bare interpreter sleeping: RSS / anonymous",
            f"{fp['bare_VmRSS']:.1f} / {fp['bare_RssAnon']:.1f} MiB",
            "peer",
        ],
        [
            "`import schedule` on a bare interpreter: RSS / anonymous above the bare peer",
            f"+{fp['sched_VmRSS'] - fp['bare_VmRSS']:.1f} / "
            f"+{fp['sched_RssAnon'] - fp['bare_RssAnon']:.1f} MiB",
            "the scheduler's cost",
        ],
        [f"Context switches while idle ({fp['idle']:.0f} s window)", f"{fp['ctx']:.0f}", "0"],
        [
            "`coltec-worker --validate-only` / `python -c pass`, wall (medians)",
            f"{val['validate'] * 1000:.0f} / {val['bare'] * 1000:.0f} ms = **{val['ratio']:.1f}×**",
            "≤ 4×",
        ],
    ]
    for n, p in passes.items():
        rows.append(
            [
                f"One pass, {n:,} files: CPU, daemon pass / rclone direct",
                f"{p['worker_cpu']:.2f} / {p['direct_cpu']:.2f} s = "
                f"**{p['worker_cpu'] / p['direct_cpu']:.2f}**",
                f"wall {p['worker_wall']:.2f} / {p['direct_wall']:.2f} s",
            ]
        )
    return "\n".join(
        [
            "## Worker",
            "",
            f"`python bench/worker.py{' --quick' if quick else ''}`, {machine()}.",
            "",
            "The worker as installed in production: a fresh venv, `pip install ./worker` "
            "(a wheel, bytecode compiled), no `PYTHONDONTWRITEBYTECODE`.",
            "",
            table(["Measure", "Result", "Target / note"], rows, "lrl"),
            "",
            "Passes: steady state (bisync, no changes) against `rclone serve s3` on "
            f"127.0.0.1, medians of {repeat}, the order of daemon pass and direct rclone "
            "alternating. The daemon's CPU is its own plus its rclone's (from /proc). "
            "--validate-only and the bare interpreter are started the same way, interleaved.",
            "",
        ]
    )


if __name__ == "__main__":
    sys.exit(main())
