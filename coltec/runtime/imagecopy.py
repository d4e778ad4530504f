"""Put a built image on other engines: `docker save` on the source into `docker load` on
each target, over each target's own connection (unix socket, ssh://, tcp:// with TLS —
whatever its environment says, as for every other docker call).

No registry is involved, so no credentials and no push rights are needed; a target that
already has the same image id is skipped. The stream passes through here so that a
long transfer reports its progress, and so that one that stops moving (a dead ssh link)
is ended after STALL_SECONDS instead of hanging.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from coltec.errors import ColtecError, DockerUnavailable
from coltec.runtime.docker import DockerEngine, ping

CHUNK = 1 << 20
PROGRESS_SECONDS = 15.0  # a progress line per target this often while bytes flow
STALL_SECONDS = 300.0  # no byte moved for this long: the transfer is ended as failed

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Sent:
    """What happened on one target: "sent", "current" (same image id) or "failed"."""

    where: str
    outcome: str
    seconds: float = 0.0
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.outcome != "failed"


def image_id(engine: DockerEngine, tag: str) -> str:
    """The image id of `tag` on `engine`, or "" when it has no such image."""
    result = engine.run(["image", "inspect", "--format", "{{.Id}}", tag], timeout=60, check=False)
    return result.stdout.strip() if result.returncode == 0 else ""


def _size_mb(engine: DockerEngine, tag: str) -> int:
    result = engine.run(["image", "inspect", "--format", "{{.Size}}", tag], timeout=60)
    return int(result.stdout.strip() or 0) // 1_000_000


def send_to_all(
    tag: str, source: DockerEngine, targets: Sequence[DockerEngine], progress: Progress
) -> list[Sent]:
    """send() to each target in turn; a failing target does not stop the others."""
    ping(source)
    want = image_id(source, tag)
    if not want:
        raise DockerUnavailable(f"{source.where} has no image {tag} to send", "build it first")
    size = _size_mb(source, tag)
    return [send(tag, want, size, source, target, progress) for target in targets]


def send(
    tag: str,
    want: str,
    size_mb: int,
    source: DockerEngine,
    target: DockerEngine,
    progress: Progress,
) -> Sent:
    started = time.monotonic()
    try:
        ping(target)
        if image_id(target, tag) == want:
            progress(f"{target.where}: already has {tag} ({want[:19]}), skipped")
            return Sent(target.where, "current", detail=want)
        progress(f"{target.where}: sending {tag} (~{size_mb} MB) from {source.where}")
        _stream(tag, source, target, size_mb, progress)
        have = image_id(target, tag)
        if have != want:
            raise DockerUnavailable(
                f"after docker load, {tag} there is {have or 'missing'}, not {want[:19]}",
                "a concurrent build on that host? run cs:image again",
            )
    except ColtecError as exc:
        progress(f"{target.where}: FAILED: {exc.message.splitlines()[0]}")
        return Sent(target.where, "failed", time.monotonic() - started, exc.message)
    seconds = time.monotonic() - started
    progress(f"{target.where}: loaded {tag} in {seconds:.0f}s")
    return Sent(target.where, "sent", seconds, want)


def _stream(
    tag: str, source: DockerEngine, target: DockerEngine, size_mb: int, progress: Progress
) -> None:
    """docker save | docker load, pumped here (progress, stall watch); raises on failure."""
    docker = source.docker()
    with tempfile.TemporaryFile() as save_err, tempfile.TemporaryFile() as load_out:
        save = subprocess.Popen(
            [docker, "save", tag],
            env=source.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=save_err,
        )
        load = subprocess.Popen(
            [docker, "load", "--quiet"],
            env=target.env(),
            stdin=subprocess.PIPE,
            stdout=load_out,
            stderr=subprocess.STDOUT,
        )
        ended = _pump(save, load, target.where, size_mb, progress)
        save_code, load_code = save.wait(), load.wait()
        if ended == "stalled":
            raise DockerUnavailable(
                f"the transfer stopped moving for {STALL_SECONDS:.0f}s; ended it",
                "check the connection to that host (`docker version` with its DOCKER_HOST)",
            )
        failures = [
            (load_code, f"docker load failed (exit {load_code}): {_tail(load_out)}"),
            (
                save_code,
                f"docker save on {source.where} failed (exit {save_code}): {_tail(save_err)}",
            ),
        ]
        if ended != "load ended":  # else load's own message says why it stopped reading
            failures.reverse()
        for code, message in failures:
            if code != 0:
                raise DockerUnavailable(message, "the line above is docker's")


def _pump(
    save: subprocess.Popen[bytes],
    load: subprocess.Popen[bytes],
    where: str,
    size_mb: int,
    progress: Progress,
) -> str:
    """Copy save's stdout into load's stdin: "done", "stalled" or "load ended" (early)."""
    assert save.stdout is not None and load.stdin is not None
    moved, last_moved, ended = 0, time.monotonic(), "done"
    stalled, done = threading.Event(), threading.Event()

    def watch() -> None:
        while not done.wait(5.0):
            if time.monotonic() - last_moved > STALL_SECONDS:
                stalled.set()
                save.kill()
                load.kill()
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    next_report = time.monotonic() + PROGRESS_SECONDS
    try:
        while chunk := save.stdout.read(CHUNK):
            load.stdin.write(chunk)
            moved += len(chunk)
            last_moved = time.monotonic()
            if last_moved >= next_report:
                progress(f"{where}: {moved // 1_000_000} of ~{size_mb} MB")
                next_report = last_moved + PROGRESS_SECONDS
    except BrokenPipeError:  # load ended early; its exit code and output say why
        ended = "load ended"
        save.kill()
    finally:
        done.set()
        save.stdout.close()
        with contextlib.suppress(BrokenPipeError):
            load.stdin.close()
    return "stalled" if stalled.is_set() else ended


def _tail(stream: IO[bytes]) -> str:
    stream.seek(0)
    lines = stream.read().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no output"
