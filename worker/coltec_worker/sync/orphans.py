"""An rclone left running by a worker killed with -9 (the OOM killer): found and stopped.

runner.run records its child's pid and start time in state/running/<name>.json while
it runs. A worker that was killed cannot stop its child, which keeps bisync's lock;
the next run of that path calls stop_orphan first, which stops that same process
(same pid and start time, still rclone) — so two rclones never run on one path.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time


def _start_time(pid: int) -> tuple[str, int] | None:
    """(comm, start time in clock ticks since boot) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return comm, int(fields[19])  # field 22 of stat: starttime


def write_record(record: str, pid: int) -> None:
    """Best effort: a state directory that cannot take it only loses the orphan check."""
    started = _start_time(pid)
    data = {"pid": pid, "start": started[1] if started else None, "worker": os.getpid()}
    with contextlib.suppress(OSError):
        folder, name = os.path.split(record)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f".{name}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data))
        os.replace(tmp, record)


def stop_orphan(record: str, grace: float = 10.0) -> int | None:
    """Stop the rclone a killed worker left running (its pid and start time in `record`).

    Only a process that is still the same rclone (same pid, same start time) is stopped:
    SIGINT to its group, SIGKILL after `grace` seconds. Returns its pid, or None.
    """
    try:
        with open(record, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    pid = data.get("pid") if isinstance(data, dict) else None
    start = data.get("start") if isinstance(data, dict) else None
    alive = _start_time(pid) if isinstance(pid, int) and pid > 0 else None
    stopped = None
    if isinstance(pid, int) and alive is not None and alive[0] == "rclone" and alive[1] == start:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGINT)
        deadline = time.monotonic() + grace
        while _start_time(pid) == alive and time.monotonic() < deadline:
            time.sleep(0.05)
        if _start_time(pid) == alive:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
            while _start_time(pid) == alive and time.monotonic() < deadline + grace:
                time.sleep(0.05)
        stopped = pid
    with contextlib.suppress(OSError):
        os.unlink(record)
    return stopped
