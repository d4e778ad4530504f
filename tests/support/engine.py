"""A Docker engine and a root filesystem image, made from nothing, for the e2e and multihost tiers.

No image registry is reachable here, so the one image the tier cannot get the user's
way is the base OS: debootstrap (minbase bookworm + python3) -> `docker import` ->
rootfs image, cached by what it is made from. The coltec base image is then built
from it with the documented command, `mise run cs:image --base-image ROOTFS --offline`.
The engine we start keeps its data root under CACHE (COLTEC_E2E_CACHE, else
~/.cache/coltec-e2e), so images survive between runs; its socket and pid live in
/run/coltec-e2e, and it is stopped at the end of the session.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from coltec_worker.sync.state import pid_alive

from tests.support.budget import say, step

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("COLTEC_E2E_CACHE") or Path.home() / ".cache" / "coltec-e2e")
RUN_DIR = Path("/run/coltec-e2e")
PRIVATE_HOST = f"unix://{RUN_DIR / 'docker.sock'}"

TAG = "e2e"  # progress lines: [e2e] ...; the multihost tier sets its own
SUITE = "bookworm"
INCLUDE = ("python3", "python3-venv", "ca-certificates", "procps")


class Unavailable(Exception):
    """No engine can be had here; the message is the one-line reason."""


def _digest(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


def _say(message: str) -> None:
    say(TAG, message)


def _run(
    argv: list[str],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    input: bytes | None = None,
    timeout: float = 600,
) -> str:
    proc = subprocess.run(
        argv, env=env, cwd=cwd, input=input, capture_output=True, timeout=timeout, check=False
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).decode(errors="replace").strip()[-3000:]
        raise RuntimeError(f"{' '.join(argv[:6])} ... failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout.decode(errors="replace")


def answers(host: str | None) -> bool:
    env = {**os.environ}
    if host:
        env["DOCKER_HOST"] = host
    docker = shutil.which("docker")
    if not docker:
        return False
    try:
        proc = subprocess.run(
            [docker, "version", "--format", "{{.Server.Version}}"],
            env=env,
            capture_output=True,
            timeout=10,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


@dataclass
class DockerEngine:
    """An engine for the session. `owned`: we started it (or adopted our own leftover)."""

    host: str | None
    owned: bool
    process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {**os.environ, "DOCKER_BUILDKIT": "0"}
        if self.host:
            env["DOCKER_HOST"] = self.host
        return env

    def docker(self, *args: str, timeout: float = 600, input: bytes | None = None) -> str:
        return _run(["docker", *args], env=self.env(), timeout=timeout, input=input)

    def has_image(self, tag: str) -> bool:
        proc = subprocess.run(
            ["docker", "image", "inspect", tag], env=self.env(), capture_output=True, check=False
        )
        return proc.returncode == 0

    def remove_workspace_containers(self) -> None:
        ids = self.docker("ps", "-aq", "--filter", "label=coltec.workspace").split()
        if ids:
            self.docker("rm", "-f", "-v", *ids)

    def stop(self) -> None:
        """Remove the containers we made; stop the engine if we started it."""
        try:
            self.remove_workspace_containers()
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            _say(f"cleanup: {exc}")
        if self.owned:
            _stop_private_dockerd(self.process)


def _stop_private_dockerd(process: subprocess.Popen[bytes] | None) -> None:
    pidfile = RUN_DIR / "docker.pid"
    pid = process.pid if process else None
    if pid is None and pidfile.is_file():
        try:
            pid = int(pidfile.read_text().strip())
        except ValueError:
            pid = None
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return
        if process is None and not pid_alive(pid):
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    if process is not None:
        process.wait(timeout=10)


def start_engine() -> DockerEngine:
    """An engine that answers: the caller's, our own leftover, or a dockerd started now."""
    if answers(os.environ.get("DOCKER_HOST")):
        return DockerEngine(os.environ.get("DOCKER_HOST"), owned=False)
    if answers(PRIVATE_HOST):
        return DockerEngine(PRIVATE_HOST, owned=True)
    if os.geteuid() != 0:
        raise Unavailable(
            "no Docker engine answers and only root can start one "
            "(run as root, or set DOCKER_HOST to a running engine)"
        )
    dockerd = shutil.which("dockerd")
    if not dockerd or not shutil.which("docker"):
        raise Unavailable(
            "dockerd is not installed (as root: apt-get install docker.io "
            "debootstrap, or ./dev setup)"
        )
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    (CACHE / "docker").mkdir(parents=True, exist_ok=True)
    _stop_private_dockerd(None)  # a leftover that no longer answers
    for stale in ("docker.sock", "docker.pid"):
        (RUN_DIR / stale).unlink(missing_ok=True)
    log = open(CACHE / "dockerd.log", "ab")  # noqa: SIM115 - handed to the daemon
    # vfs: works on any filesystem (overlay-on-overlay does not); no iptables or bridge
    # in this kind of sandbox, so containers use the host network.
    process = subprocess.Popen(
        [
            dockerd,
            "--storage-driver=vfs",
            "--iptables=false",
            "--bridge=none",
            "--data-root",
            str(CACHE / "docker"),
            "--exec-root",
            str(RUN_DIR / "exec"),
            "--pidfile",
            str(RUN_DIR / "docker.pid"),
            "--host",
            PRIVATE_HOST,
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = (CACHE / "dockerd.log").read_text(errors="replace")[-1500:]
            raise RuntimeError(f"dockerd exited with {process.returncode}:\n{tail}")
        if answers(PRIVATE_HOST):
            _say(f"started dockerd (pid {process.pid}) at {PRIVATE_HOST}")
            return DockerEngine(PRIVATE_HOST, owned=True, process=process)
        time.sleep(0.3)
    _stop_private_dockerd(process)
    raise RuntimeError("dockerd did not answer within 60 s; see " + str(CACHE / "dockerd.log"))


# -- images ----------------------------------------------------------------------


def apt_mirror() -> str:
    """The Debian mirror this machine's apt uses (read at run time, never stored)."""
    sources = sorted(Path("/etc/apt/sources.list.d").glob("*.sources"))
    for path in sources:
        for line in path.read_text().splitlines():
            if line.startswith("URIs:") and "security" not in line:
                return line.split()[1]
    legacy = Path("/etc/apt/sources.list")
    if legacy.is_file():
        for line in legacy.read_text().splitlines():
            m = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+(\S+)", line)
            if m and "security" not in m.group(1) and "security" not in m.group(2):
                return m.group(1)
    raise RuntimeError("no Debian mirror found in /etc/apt/sources.list(.d)")


def rootfs_image(engine: DockerEngine, cache: Path = CACHE, tag: str = TAG) -> str:
    """The rootfs image on `engine`, made by debootstrap under `cache` unless it is there;
    progress lines say `[tag] ...`."""
    key = _digest([SUITE.encode(), " ".join(INCLUDE).encode()])
    image = f"coltec-e2e/rootfs:{key}"
    if engine.has_image(image):
        return image
    if not shutil.which("debootstrap"):
        raise Unavailable("debootstrap is not installed (as root: apt-get install debootstrap)")
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / "rootfs"
    shutil.rmtree(target, ignore_errors=True)
    started = time.monotonic()
    with step(tag, f"debootstrap {SUITE} (minbase + {', '.join(INCLUDE)}) into {target}"):
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={','.join(INCLUDE)}",
                SUITE,
                str(target),
                apt_mirror(),
            ],
            timeout=900,
        )
    tar = subprocess.Popen(["tar", "-C", str(target), "-c", "."], stdout=subprocess.PIPE)
    try:
        imported = subprocess.run(
            ["docker", "import", "-", image],
            env=engine.env(),
            stdin=tar.stdout,
            capture_output=True,
            check=False,
            timeout=300,
        )
    finally:
        if tar.stdout:
            tar.stdout.close()
        tar.wait()
    if imported.returncode != 0:
        raise RuntimeError(f"docker import failed: {imported.stderr.decode()[-2000:]}")
    shutil.rmtree(target, ignore_errors=True)
    say(tag, f"rootfs image {image} in {time.monotonic() - started:.0f}s")
    return image
