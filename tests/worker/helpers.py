"""Shared helpers of the worker tests: trees, specs, a remote seen through S3, a worker."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from coltec_worker.log import Logger
from coltec_worker.sync.loop import Options, Worker
from coltec_worker.sync.state import Layout
from coltec_worker.sync.verdict import RunVerdict

from tests.support.s3 import S3Server

BASELINE = {f"keep/k{i:02d}.txt": f"keep {i}\n" for i in range(12)}  # bisync safety margin


def write_tree(root: Path, files: Mapping[str, str | None], mtime: float | None = None) -> None:
    """Write (or delete, for None) files under root; optionally set their mtime."""
    for rel, content in files.items():
        path = root / rel
        if content is None:
            path.unlink()
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        if mtime is not None:
            os.utime(path, (mtime, mtime))


def read_tree(root: Path, skip: tuple[str, ...] = (".coltec",)) -> dict[str, str]:
    if not root.is_dir():
        return {}
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(skip):
            out[rel] = path.read_text()
    return out


def make_spec(folder: Path, paths: list[dict[str, Any]], **extra: Any) -> Path:
    """A workspace at folder/ws with .devcontainer/workspace-spec.yaml; returns its path."""
    ws = folder / "ws"
    (ws / ".devcontainer").mkdir(parents=True, exist_ok=True)
    items = []
    for p in paths:
        item = {"remote_path": "{org}/{project}/{name}/" + p["name"], "interval": 60, **p}
        item.setdefault("path", str(ws / p["name"]))
        Path(item["path"]).mkdir(parents=True, exist_ok=True)
        items.append(item)
    spec = {
        "name": "demo",
        "metadata": {"org": "acme", "project": "web"},
        "persistence": {"enabled": True, "sync": items, **extra},
    }
    config = ws / ".devcontainer" / "workspace-spec.yaml"
    config.write_text(yaml.safe_dump(spec, sort_keys=False))
    return config


class Remote:
    """The bucket as seen through the S3 endpoint (writes) and on disk (reads)."""

    def __init__(self, s3: S3Server, prefix: str) -> None:
        self.s3, self.prefix = s3, prefix
        self.env = {**os.environ, **s3.env("r2"), "RCLONE_CONFIG": "/dev/null"}

    @property
    def dir(self) -> Path:
        return self.s3.bucket_dir / self.prefix

    def tree(self) -> dict[str, str]:
        return read_tree(self.dir)

    def write(self, files: Mapping[str, str | None], tmp: Path, mtime: float | None = None) -> None:
        for rel, content in files.items():
            target = self.s3.remote("r2", f"{self.prefix}/{rel}")
            if content is None:
                argv = ["rclone", "deletefile", target]
            else:
                src = tmp / "upload.tmp"
                src.write_text(content)
                if mtime is not None:
                    os.utime(src, (mtime, mtime))
                argv = ["rclone", "copyto", str(src), target]
            done = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=60)
            assert done.returncode == 0, done.stderr

    def backups(self) -> dict[str, str]:
        return read_tree(self.s3.bucket_dir / ".coltec-backups")


def worker(
    config: Path,
    env: Mapping[str, str],
    home: Path,
    log: Path | None = None,
    state: Path | None = None,
    **options: Any,
) -> Worker:
    """A configured in-process Worker (no signal handlers: safe inside pytest)."""
    stream = open(log, "a") if log else sys.stderr  # noqa: SIM115 - test lifetime
    w = Worker(
        config,
        Layout(state or config.parent.parent / ".coltec" / "state"),
        Logger(stream),
        env=dict(env),
        home=home,
        options=Options(start_delay=0, **options),
    )
    w.configure()
    return w


def once(config: Path, env: Mapping[str, str], home: Path, **options: Any) -> list[RunVerdict]:
    return worker(config, env, home, **options).run_all()


def local_backups(config: Path) -> dict[str, str]:
    return read_tree(config.parent.parent / ".coltec" / "state" / "backups", skip=())


def run_cli(
    *args: str, env: Mapping[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["coltec-worker", *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_daemon(
    config: Path, env: Mapping[str, str], log: Path, *args: str
) -> subprocess.Popen[bytes]:
    """The daemon as post-start.sh starts it: own session, streams redirected."""
    return subprocess.Popen(
        [
            "coltec-worker",
            "--config",
            str(config),
            "--start-delay",
            "0",
            "--log-file",
            str(log),
            *args,
        ],
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=open(log.with_suffix(".stderr"), "wb"),
        start_new_session=True,
    )


def wait_for(predicate: Any, timeout: float = 30, what: str = "condition") -> Any:
    """Poll a condition of a real process, bounded (integration tests only)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def events(log: Path) -> list[dict[str, Any]]:
    import json

    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


def has_event(log: Path, event: str, **fields: Any) -> bool:
    return any(
        e.get("event") == event and all(e.get(k) == v for k, v in fields.items())
        for e in events(log)
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 30) -> int:
    import signal

    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=timeout)


def rclone_children(pid: int, command: str = "") -> list[int]:
    """PIDs of rclone processes whose parent is `pid` (running `command`, e.g. bisync)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            comm = fields[0].split("(", 1)[1]
            ppid = int(fields[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if comm == "rclone" and ppid == pid:
            with contextlib.suppress(OSError):
                argv = (stat.parent / "cmdline").read_bytes().split(b"\0")
                if not command or command.encode() in argv:
                    out.append(int(stat.parent.name))
    return out
