"""Run every benchmark in sequence: validate, worker, fleet, nexus (`invoke bench`).

    .venv/bin/python bench/run_all.py [--quick] [--only NAME]... [--no-write]

Each benchmark is its own script and process (so one's memory or CPU does not
colour the next) and replaces its own section of bench/results.md (not with
--quick: smoke figures only print). A failing
benchmark does not stop the others; the exit code is 1 when any failed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ORDER = ("validate", "worker", "fleet", "nexus", "upall")
# Arguments for a smoke run, per script (validate.py and worker.py belong to other issues
# and take their own flags).
QUICK: dict[str, list[tuple[str, ...]]] = {
    "validate": [("--workspaces", "50"), ("--repeat", "2")],
    "worker": [("--quick",)],
    "fleet": [("--quick",)],
    "nexus": [("--quick",)],
    "upall": [("--workspaces", "3")],
}


def accepts(script: Path, flag: str) -> bool:
    """Whether `script --help` mentions `flag` (worker.py may or may not take --quick)."""
    done = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=False
    )
    return flag in done.stdout


def command(name: str, *, quick: bool, no_write: bool) -> list[str] | None:
    script = BENCH / f"{name}.py"
    if not script.exists():
        return None
    argv = [sys.executable, str(script)]
    if quick:
        for flag, *values in QUICK[name]:
            if accepts(script, flag):
                argv += [flag, *values]
    # A smoke run's figures must not replace the real ones in bench/results.md.
    if (no_write or quick) and accepts(script, "--no-write"):
        argv.append("--no-write")
    return argv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="smoke run: minutes, not half an hour")
    parser.add_argument("--only", action="append", choices=ORDER, default=[], help="repeatable")
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/results.md")
    args = parser.parse_args(argv)
    failed: list[str] = []
    summary: list[str] = []
    for name in args.only or ORDER:
        argv_ = command(name, quick=args.quick, no_write=args.no_write)
        if argv_ is None:
            summary.append(f"{name}: skipped (bench/{name}.py does not exist yet)")
            continue
        print(f"== bench {name}: {' '.join(argv_[1:])}", file=sys.stderr, flush=True)
        started = time.monotonic()
        code = subprocess.run(argv_, check=False).returncode
        took = time.monotonic() - started
        summary.append(f"{name}: exit {code} in {took:.0f} s")
        if code != 0:
            failed.append(name)
    print("\n".join(["", "bench summary:", *(f"  {s}" for s in summary)]), file=sys.stderr)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
