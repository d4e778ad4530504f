"""Watch every process's command line for secret values, for as long as a test runs.

A thread reads /proc/*/cmdline of every process on the machine (host, containers,
docker, node, rclone, shells alike: containers share the kernel's process table)
every PERIOD seconds and records each process whose argv contains a watched value.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PERIOD = 0.05  # the issue asks for 100 ms or faster


@dataclass
class ArgvWatch:
    secrets: list[str]
    samples: int = 0
    processes_seen: int = 0
    hits: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _seen: set[int] = field(default_factory=set)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="argv-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        needles = [s.encode() for s in self.secrets]
        while not self._stop.is_set():
            self.sample(needles)
            self._stop.wait(PERIOD)

    def sample(self, needles: list[bytes]) -> None:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes()
            except OSError:
                continue  # gone meanwhile
            pid = int(entry.name)
            if pid not in self._seen:
                self._seen.add(pid)
                self.processes_seen += 1
            if any(n in argv for n in needles):
                shown = argv.replace(b"\0", b" ").decode(errors="replace")
                for secret in self.secrets:
                    shown = shown.replace(secret, "<SECRET>")
                self.hits.append(f"pid {pid} at {time.strftime('%H:%M:%S')}: {shown[:300]}")
        self.samples += 1
