"""Bring the workspace onto the tailnet as <hostname_prefix><name> (networking.enabled).

Starts `tailscaled` in userspace-networking mode when none answers on our socket (no
root, no /dev/net/tun needed), then runs `tailscale up` with the auth key from
COLTEC_TAILSCALE_AUTH_KEY or TAILSCALE_AUTH_KEY handed over as `--auth-key=file:<0600
file>` — the key is never on a command line, where `ps` and error messages would show it.
The predecessor's COLTEC_NET_* variables override what the declaration says (netenv.py);
a bad value is a failed outcome naming the variable. Idempotent: when
the node is already Running with the wanted hostname and tags, nothing is run but
one `tailscale status --json`. `ensure_up` never raises: a failure is logged and
the caller retries on its next tick, so networking never stops syncing.

Standard library only (the daemon imports nothing else).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from coltec_worker.sync.netenv import AUTH_KEY_ENVS, Settings, auth_key, settings_from

DAEMON_WAIT = 15.0  # seconds for a fresh tailscaled to answer on its socket
MAX_SOCKET = 100  # sun_path is 108 bytes on Linux


class Log(Protocol):
    def info(self, event: str, **fields: Any) -> None: ...
    def error(self, event: str, **fields: Any) -> None: ...


@dataclass(frozen=True)
class Outcome:
    state: str  # disabled | already-up | up | failed
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state != "failed"


@dataclass
class Tailnet:
    """One workspace's tailnet membership. `state_dir` survives rebuilds (node identity)."""

    hostname: str  # <hostname_prefix><name>, from the compiled plan
    tags: tuple[str, ...]
    state_dir: Path
    log: Log
    env: Mapping[str, str]
    tailscale: str = "tailscale"
    tailscaled: str = "tailscaled"
    clock: Callable[[], float] = time.monotonic
    enabled: bool = True  # networking.enabled
    sync_paths: tuple[str, ...] = ()  # local folders the auth key must never land in
    workspace: str = ""  # its name, for COLTEC_NET_HOSTNAME_PREFIX

    def settings(self) -> Settings:
        """The hostname, tags and flags in force. ValueError naming a bad variable."""
        return settings_from(self.env, self.hostname, self.tags, self.workspace)

    def auth_key(self) -> str:
        return auth_key(self.env)

    @property
    def dir(self) -> Path:
        return self.state_dir / "tailscale"

    @property
    def socket(self) -> Path:
        sock = self.dir / "tailscaled.sock"
        if len(str(sock)) <= MAX_SOCKET:
            return sock
        return Path(tempfile.gettempdir()) / f"coltec-tailscaled-{os.getuid()}.sock"

    def _cli(self, *args: str, timeout: float = 20.0) -> subprocess.CompletedProcess[str]:
        argv = [self.tailscale, f"--socket={self.socket}", *args]
        return subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(self.env),
            stdin=subprocess.DEVNULL,
            check=False,
        )

    def status(self) -> dict[str, Any] | None:
        """`tailscale status --json`, or None when no daemon answers on our socket."""
        proc = self._cli("status", "--json")
        if proc.returncode != 0:
            return None
        data = json.loads(proc.stdout)
        return data if isinstance(data, dict) else None

    def start_daemon(self) -> subprocess.Popen[bytes]:
        self.dir.mkdir(parents=True, exist_ok=True)
        argv = [
            self.tailscaled,
            "--tun=userspace-networking",
            f"--state={self.dir / 'tailscaled.state'}",
            f"--statedir={self.dir}",
            f"--socket={self.socket}",
        ]
        with open(self.dir / "tailscaled.log", "ab") as out:
            # setsid + all three streams redirected: a daemon that outlives its caller.
            daemon = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                env=dict(self.env),
            )
        self.log.info("tailscaled_started", argv=argv, pid=daemon.pid)
        return daemon

    def _wait_for_daemon(self, daemon: subprocess.Popen[bytes]) -> dict[str, Any] | None:
        """Poll the socket until the daemon answers; waiting on the process, not sleeping,
        so a daemon that dies at once is reported at once."""
        deadline = self.clock() + DAEMON_WAIT
        while True:
            status = self.status()
            if status is not None or self.clock() >= deadline:
                return status
            try:
                code = daemon.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                continue
            # Exited: failed (its log says why), or a daemon that hands over and leaves.
            return self.status() if code == 0 else None

    def wanted(self, status: Mapping[str, Any], settings: Settings | None = None) -> bool:
        want = settings or self.settings()
        me = status.get("Self") or {}
        tags = set(me.get("Tags") or [])
        return (
            status.get("BackendState") == "Running"
            and me.get("HostName") == want.hostname
            and set(want.tags) <= tags
        )

    def up_argv(self, key_file: Path | None, settings: Settings | None = None) -> list[str]:
        want = settings or self.settings()
        argv = [
            self.tailscale,
            f"--socket={self.socket}",
            "up",
            "--reset",
            f"--hostname={want.hostname}",
            *want.flags,
            "--timeout=60s",
        ]
        if want.tags:
            argv.append(f"--advertise-tags={','.join(want.tags)}")
        if key_file is not None:
            argv.append(f"--auth-key=file:{key_file}")
        return argv

    def _write_key(self, key: str) -> Path:
        """The key in a fresh private folder (0700) as a new 0600 file, outside every sync
        path: O_EXCL|O_NOFOLLOW, so nothing planted beforehand (a symlink into a synced
        folder) can receive it. The caller removes the folder after use."""
        folder = Path(tempfile.mkdtemp(prefix="coltec-tskey-", dir=self._key_parent()))
        path = folder / "authkey"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        try:
            os.write(fd, key.encode())
        finally:
            os.close(fd)
        return path

    def _key_parent(self) -> str:
        """A temporary-files folder that no sync path contains ($XDG_RUNTIME_DIR, /dev/shm,
        the system's temporary folder), else the state directory (excluded from sync)."""
        candidates = [self.env.get("XDG_RUNTIME_DIR", ""), "/dev/shm", tempfile.gettempdir()]
        for candidate in candidates:
            if (
                candidate.startswith("/")
                and os.path.isdir(candidate)
                and not any(_inside(candidate, p) for p in self.sync_paths)
            ):
                return candidate
        self.dir.mkdir(parents=True, exist_ok=True)
        return str(self.dir)

    def _up(self, status: Mapping[str, Any], settings: Settings) -> Outcome:
        key = self.auth_key()
        if not key and status.get("BackendState") != "Running":
            return Outcome(
                "failed",
                f"not logged in ({status.get('BackendState')}) and neither "
                f"{' nor '.join(AUTH_KEY_ENVS)} is set: set one to a tagged, reusable auth key",
            )
        self.dir.mkdir(parents=True, exist_ok=True)
        key_file = self._write_key(key) if key else None
        try:
            proc = subprocess.run(
                self.up_argv(key_file, settings),
                capture_output=True,
                text=True,
                timeout=90,
                env=dict(self.env),
                stdin=subprocess.DEVNULL,
                check=False,
            )
        finally:
            if key_file is not None:
                key_file.unlink(missing_ok=True)
                key_file.parent.rmdir()
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-5:])
            if key:
                tail = tail.replace(key, "***")
            return Outcome("failed", f"tailscale up exited {proc.returncode}: {tail}")
        return Outcome("up", settings.hostname)

    def ensure_up(self) -> Outcome:
        """Join the tailnet if not already on it as wanted. Never raises."""
        if not self.enabled:
            return Outcome("disabled")
        try:
            settings = self.settings()
        except ValueError as exc:
            self.log.error("tailnet_failed", reason=str(exc), retry="next tick")
            return Outcome("failed", str(exc))
        try:
            status = self.status()
            if status is None:
                status = self._wait_for_daemon(self.start_daemon())
                if status is None:
                    outcome = Outcome(
                        "failed",
                        f"tailscaled did not answer on {self.socket} "
                        f"within {DAEMON_WAIT:.0f}s; see {self.dir}/tailscaled.log",
                    )
                    self.log.error("tailnet_failed", reason=outcome.detail, retry="next tick")
                    return outcome
            if self.wanted(status, settings):
                return Outcome("already-up", settings.hostname)
            outcome = self._up(status, settings)
        except FileNotFoundError as exc:
            outcome = Outcome(
                "failed",
                f"{exc.filename or 'tailscale'} is not installed "
                "(the base image ships tailscale and tailscaled)",
            )
        except (OSError, ValueError, subprocess.SubprocessError) as exc:
            outcome = Outcome("failed", f"{type(exc).__name__}: {exc}")
        if outcome.ok:
            self.log.info("tailnet_up", hostname=outcome.detail, tags=list(settings.tags))
        else:
            self.log.error("tailnet_failed", reason=outcome.detail, retry="next tick")
        return outcome


def _inside(path: str, folder: str) -> bool:
    path, folder = os.path.realpath(path), os.path.realpath(folder)
    return path == folder or path.startswith(folder.rstrip("/") + "/")
