"""`coltec-worker flush`: the final sync before `cs:down` stops the container.

With a daemon running (it holds state/worker.pid), flush writes state/flush.request
with a fresh token and sends SIGUSR1; the daemon finishes its current run, runs every
path once, and answers in state/flush.done with the same token. Without a daemon,
flush runs one pass itself (like --once). Exit 0 when every path synced, 1 when one
failed or no answer came within --timeout, 2 on usage errors. `--stop` then sends
SIGTERM and waits (bounded) for the daemon to exit — only when every path synced, so a
failed final sync leaves its worker running to retry.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
import uuid
from collections.abc import Callable, Sequence

from coltec_worker.errors import EXIT_FAILED, EXIT_OK, print_error
from coltec_worker.sync.pidfile import daemon_pid
from coltec_worker.sync.state import Layout, read_json, remove, write_json

POLL = 0.2


def _wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(POLL)
    return bool(predicate())


def flush_main(argv: Sequence[str]) -> int:
    from coltec_worker.cli.args import add_common, layout_of, once_args, typed
    from coltec_worker.cli.daemon import run_worker
    from coltec_worker.cli.values import seconds

    parser = argparse.ArgumentParser(
        prog="coltec-worker flush", description="Run every path once now and wait for it."
    )
    add_common(parser)
    parser.add_argument(
        "--timeout",
        type=typed(seconds),
        default=600.0,
        metavar="S",
        help="give up after S seconds (default 600): exit 1",
    )
    parser.add_argument(
        "--stop",
        action="store_true",
        help="when every path synced, stop the daemon (SIGTERM) and wait for it",
    )
    args = parser.parse_args(argv)
    layout: Layout = layout_of(args)
    pid = daemon_pid(layout)
    if pid is None:
        print("coltec-worker flush: no daemon running; running one pass", file=sys.stderr)
        return run_worker(once_args(args.config, args.state_dir, args.timeout))
    token = uuid.uuid4().hex
    remove(layout.flush_done)
    write_json(layout.flush_request, {"token": token, "requested_by": os.getpid()})
    os.kill(pid, signal.SIGUSR1)

    def answered() -> bool:
        done = read_json(layout.flush_done)
        return isinstance(done, dict) and done.get("token") == token

    if not _wait_for(answered, args.timeout):
        print_error(
            f"coltec-worker flush: no answer from pid {pid} within {args.timeout:.0f}s",
            "see `coltec-worker status` and the worker's log; a longer --timeout waits more",
        )
        return EXIT_FAILED
    done = read_json(layout.flush_done)
    outcomes = done.get("paths", {}) if isinstance(done, dict) else {}
    for name, outcome in sorted(outcomes.items()):
        print(f"{name}: {outcome}")
    code = EXIT_OK if isinstance(done, dict) and done.get("ok") else EXIT_FAILED
    if args.stop and code == 0:  # a failed final sync keeps its worker running
        os.kill(pid, signal.SIGTERM)
        if not _wait_for(lambda: daemon_pid(layout) is None, args.timeout):
            print_error(
                f"coltec-worker flush: pid {pid} did not exit", "see `coltec-worker status`"
            )
            return EXIT_FAILED
    return code
