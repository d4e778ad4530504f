"""Shared helpers of the worker tests: trees, specs, a remote seen through S3, a worker."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from coltec_worker.job import Verdict
from coltec_worker.log import Logger
from coltec_worker.loop import Options, Worker
from coltec_worker.state import Layout
from tests.s3 import S3Server

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
    spec = {"name": "demo", "metadata": {"org": "acme", "project": "web"},
            "persistence": {"enabled": True, "sync": items, **extra}}
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

    def write(self, files: Mapping[str, str | None], tmp: Path, mtime: float | None = None
              ) -> None:
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
            subprocess.run(argv, env=self.env, check=True, capture_output=True, timeout=60)

    def backups(self) -> dict[str, str]:
        return read_tree(self.s3.bucket_dir / ".coltec-backups")


def worker(config: Path, env: Mapping[str, str], home: Path, log: Path | None = None,
           **options: Any) -> Worker:
    """A configured in-process Worker (no signal handlers: safe inside pytest)."""
    stream = open(log, "a") if log else sys.stderr  # noqa: SIM115 - test lifetime
    w = Worker(config, Layout(config.parent.parent / ".coltec" / "state"), Logger(stream),
               env=dict(env), home=home, options=Options(start_delay=0, **options))
    w.configure()
    return w


def once(config: Path, env: Mapping[str, str], home: Path, **options: Any) -> list[Verdict]:
    return worker(config, env, home, **options).run_all()


def local_backups(config: Path) -> dict[str, str]:
    return read_tree(config.parent.parent / ".coltec" / "state" / "backups", skip=())
