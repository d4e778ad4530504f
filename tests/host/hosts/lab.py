"""Several Docker hosts on this machine, for the multi-host tier: one network namespace each.

    root namespace: bridge cmhbr0, 10.231.77.1/24  (the S3 endpoint listens here)
    host hN: namespace cmhN, veth cmhNh (root side, on the bridge) <-> cmhNn (10.231.77.1N/24)
             its own dockerd (data root under CACHE/hN, exec root, pidfile and socket
             under RUN_DIR/hN) and its own sshd on 10.231.77.1N:2222 (Debian's
             openssh-server, host and client keys made here)

The namespaces have no default route and forwarding is not enabled, so their only
peers are each other and 10.231.77.1: traffic stays on these addresses and loopback.
Containers use the host network of their engine, i.e. their host's namespace.

ssh:// hosts need the client's ssh configuration (key, port, known host). The test
never touches ~/.ssh: RUN_DIR/bin/ssh runs /usr/bin/ssh with `-F RUN_DIR/ssh/config`,
and tests put RUN_DIR/bin first on PATH (the docker CLI runs `ssh` from PATH). sshd
gives each session DOCKER_HOST of its own engine, so the remote `docker system
dial-stdio` reaches it.

Teardown (also after a failure): every process in each namespace is killed by pid
(`ip netns pids`), then the namespaces and the bridge are deleted. Leftovers of an
earlier aborted run are removed the same way before a start.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import budget

RUN_DIR = Path("/run/coltec-multihost")
TLS_DIR = RUN_DIR / "tls"  # ca.pem, server-{cert,key}.pem; client/ holds what a user gets
TLS_PORT = 2376
TLS_HOSTS = ("h3",)  # these engines also listen on tcp://ADDR:2376 with --tlsverify
CACHE = Path(
    os.environ.get("COLTEC_MULTIHOST_CACHE") or Path.home() / ".cache" / "coltec-multihost"
)
BRIDGE = "cmhbr0"
HUB_ADDR = "10.231.77.1"
PREFIX = 24
SSH_PORT = 2222


class LabUnavailable(Exception):
    """This machine cannot host the lab (not root, a tool missing); the one-line reason."""


TAG = "multihost"  # progress lines: [multihost] ...


def say(message: str) -> None:
    budget.say(TAG, message)


def sh(*argv: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def require_tools() -> None:
    if os.geteuid() != 0:
        raise LabUnavailable("only root can create network namespaces and start dockerd")
    missing = [
        tool
        for tool in (
            "ip",
            "nsenter",
            "openssl",
            "dockerd",
            "docker",
            "ssh",
            "ssh-keygen",
            "/usr/sbin/sshd",
        )
        if not shutil.which(tool)
    ]
    if missing:
        raise LabUnavailable(
            f"missing {', '.join(missing)} (as root: apt-get install iproute2 docker.io "
            "openssh-server openssl, or ./dev setup)"
        )


@dataclass
class Host:
    index: int
    dockerd: subprocess.Popen[bytes] | None = None
    sshd: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"h{self.index}"

    @property
    def netns(self) -> str:
        return f"cmh{self.index}"

    @property
    def addr(self) -> str:
        return f"10.231.77.{10 + self.index}"

    @property
    def run_dir(self) -> Path:
        return RUN_DIR / self.name

    @property
    def socket(self) -> str:
        return f"unix://{self.run_dir / 'docker.sock'}"

    @property
    def tls_url(self) -> str:
        return f"tcp://{self.addr}:{TLS_PORT}"

    @property
    def ssh_url(self) -> str:
        return f"ssh://root@{self.addr}:{SSH_PORT}"

    def env(self, via_ssh: bool = False, via_tls: bool = False) -> dict[str, str]:
        """Environment for the test's own docker calls to this host."""
        env = {
            **os.environ,
            "PATH": f"{RUN_DIR / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            "DOCKER_HOST": self.ssh_url if via_ssh else self.socket,
            "DOCKER_BUILDKIT": "0",
        }
        if via_tls:
            env |= {
                "DOCKER_HOST": self.tls_url,
                "DOCKER_TLS_VERIFY": "1",
                "DOCKER_CERT_PATH": str(TLS_DIR / "client"),
            }
        return env

    def docker(
        self,
        *args: str,
        via_ssh: bool = False,
        via_tls: bool = False,
        check: bool = True,
        timeout: float = 120,
    ) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["docker", *args],
            env=self.env(via_ssh, via_tls),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            raise RuntimeError(
                f"[{self.name}] docker {' '.join(args[:4])} failed: {proc.stderr.strip()[-800:]}"
            )
        return proc

    def answers(self, via_ssh: bool = False, via_tls: bool = False) -> bool:
        try:
            proc = self.docker(
                "version",
                "--format",
                "{{.Server.Version}}",
                via_ssh=via_ssh,
                via_tls=via_tls,
                check=False,
                timeout=15,
            )
        except subprocess.TimeoutExpired:
            return False
        return proc.returncode == 0 and bool(proc.stdout.strip())

    def pause_dockerd(self) -> None:
        """SIGSTOP this host's dockerd: it accepts connections and never answers (a hang)."""
        if self.dockerd is not None:
            self.dockerd.send_signal(signal.SIGSTOP)

    def kill_dockerd(self) -> None:
        """SIGKILL this host's dockerd (a host failing mid-run); its socket stays, dead."""
        if self.dockerd is not None:
            self.dockerd.send_signal(signal.SIGKILL)
            self.dockerd.wait(timeout=30)


@dataclass
class Lab:
    hosts: list[Host] = field(default_factory=list)

    def host(self, name: str) -> Host:
        return next(h for h in self.hosts if h.name == name)

    def ssh_path(self) -> str:
        return str(RUN_DIR / "bin")


def hosts_yaml(lab: Lab) -> str:
    """The hosts file of the tier: h1 by its unix socket, h2 by ssh://, h3 by tcp:// + TLS."""
    h1, h2, h3 = lab.hosts
    return (
        "hosts:\n"
        f"  - name: {h1.name}\n"
        f"    docker_host: {h1.socket}\n"
        "    max_workspaces: 1\n"
        "    labels: {site: here}\n"
        f"  - name: {h2.name}\n"
        f"    docker_host: {h2.ssh_url}\n"
        "    max_workspaces: 3\n"
        f"  - name: {h3.name}\n"
        f"    docker_host: {h3.tls_url}\n"
        f"    tls: {{cert_path: {TLS_DIR / 'client'}}}\n"
        "    max_workspaces: 2\n"
    )


# -- network -----------------------------------------------------------------------


def _netns_exists(name: str) -> bool:
    return name in sh("ip", "netns", "list").stdout.split()


def _kill_netns_processes(netns: str) -> None:
    """Every process in our namespace, by pid: TERM, a short grace, then KILL."""
    if not _netns_exists(netns):
        return
    for sig, grace in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        pids = [int(p) for p in sh("ip", "netns", "pids", netns, check=False).stdout.split()]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not sh("ip", "netns", "pids", netns, check=False).stdout.split():
                return
            time.sleep(0.2)


def _our_mounts() -> list[str]:
    """Mount points a dockerd of ours left behind (its netns file, its data root's bind
    mount) when it did not stop cleanly; deepest first."""
    roots = (f"{RUN_DIR}/", f"{CACHE}/")
    found = []
    for line in Path("/proc/mounts").read_text().splitlines():
        point = line.split()[1].replace("\\040", " ")
        if point.startswith(roots):
            found.append(point)
    return sorted(set(found), key=len, reverse=True)


def teardown(count: int = 3) -> None:
    for index in range(1, count + 1):
        host = Host(index)
        _kill_netns_processes(host.netns)
        if _netns_exists(host.netns):
            sh("ip", "netns", "del", host.netns, check=False)
        sh("ip", "link", "del", f"cmh{index}h", check=False)
    sh("ip", "link", "del", BRIDGE, check=False)
    for point in _our_mounts():
        sh("umount", "--lazy", point, check=False)


def _network(hosts: list[Host]) -> None:
    sh("ip", "link", "add", BRIDGE, "type", "bridge")
    sh("ip", "addr", "add", f"{HUB_ADDR}/{PREFIX}", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")
    for host in hosts:
        outside, inside = f"cmh{host.index}h", f"cmh{host.index}n"
        sh("ip", "netns", "add", host.netns)
        sh("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        sh("ip", "link", "set", outside, "master", BRIDGE, "up")
        sh("ip", "link", "set", inside, "netns", host.netns)
        ns = ("ip", "netns", "exec", host.netns)
        sh(*ns, "ip", "link", "set", "lo", "up")
        sh(*ns, "ip", "addr", "add", f"{host.addr}/{PREFIX}", "dev", inside)
        sh(*ns, "ip", "link", "set", inside, "up")


def _in_netns(host: Host) -> list[str]:
    # nsenter, not `ip netns exec`: that also makes a mount namespace with its own /sys,
    # where dockerd finds no cgroup hierarchy ("Devices cgroup isn't mounted").
    return ["nsenter", f"--net=/run/netns/{host.netns}", "--"]


# -- ssh ---------------------------------------------------------------------------


def _ssh_material(hosts: list[Host]) -> None:
    keys = RUN_DIR / "ssh"
    keys.mkdir(parents=True, exist_ok=True)
    os.chmod(keys, 0o700)
    for key in ("host_key", "id_ed25519"):
        if not (keys / key).is_file():
            sh(
                "ssh-keygen",
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "coltec-multihost",
                "-f",
                str(keys / key),
            )
    (keys / "authorized_keys").write_text((keys / "id_ed25519.pub").read_text())
    os.chmod(keys / "authorized_keys", 0o600)
    host_pub = " ".join((keys / "host_key.pub").read_text().split()[:2])
    (keys / "known_hosts").write_text("".join(f"[{h.addr}]:{SSH_PORT} {host_pub}\n" for h in hosts))
    (keys / "config").write_text(
        "Host 10.231.77.*\n"
        "  User root\n"
        f"  Port {SSH_PORT}\n"
        f"  IdentityFile {keys / 'id_ed25519'}\n"
        "  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {keys / 'known_hosts'}\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
        "  ConnectTimeout 5\n"
        "  ServerAliveInterval 5\n"
        "  ServerAliveCountMax 2\n"
        "  LogLevel ERROR\n"
    )
    bindir = RUN_DIR / "bin"
    bindir.mkdir(exist_ok=True)
    wrapper = bindir / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {keys / "config"} "$@"\n')
    wrapper.chmod(0o755)
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory


def _start_sshd(host: Host) -> None:
    keys = RUN_DIR / "ssh"
    config = host.run_dir / "sshd_config"
    config.write_text(
        f"Port {SSH_PORT}\n"
        f"ListenAddress {host.addr}\n"
        f"HostKey {keys / 'host_key'}\n"
        f"PidFile {host.run_dir / 'sshd.pid'}\n"
        f"AuthorizedKeysFile {keys / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\n"
        "PasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\n"
        "UsePAM no\n"
        "MaxStartups 200\n"
        "MaxSessions 200\n"
        f"SetEnv DOCKER_HOST={host.socket}\n"
    )
    log = open(host.run_dir / "sshd.log", "ab")  # noqa: SIM115 - handed to the daemon
    host.sshd = subprocess.Popen(
        [*_in_netns(host), "/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()


# -- TLS for tcp:// engines ---------------------------------------------------------------


def _tls_material(hosts: list[Host]) -> None:
    """A CA, a server certificate for the TLS hosts' addresses, a client certificate."""
    client = TLS_DIR / "client"
    client.mkdir(parents=True, exist_ok=True)
    os.chmod(TLS_DIR, 0o700)
    if (client / "cert.pem").is_file():
        return
    ca_key, ca = TLS_DIR / "ca-key.pem", TLS_DIR / "ca.pem"
    days = ("-days", "30")
    sh(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        *days,
        "-subj",
        "/CN=coltec-multihost CA",
    )
    sans = ",".join(f"IP:{h.addr}" for h in hosts if h.name in TLS_HOSTS)
    for name, ext in (
        ("server", f"subjectAltName={sans}\nextendedKeyUsage=serverAuth"),
        ("client", "extendedKeyUsage=clientAuth"),
    ):
        key, csr, cert = (
            TLS_DIR / f"{name}-key.pem",
            TLS_DIR / f"{name}.csr",
            TLS_DIR / f"{name}-cert.pem",
        )
        extfile = TLS_DIR / f"{name}.ext"
        extfile.write_text(ext + "\n")
        sh(
            "openssl",
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(csr),
            "-subj",
            f"/CN=coltec-multihost {name}",
        )
        sh(
            "openssl",
            "x509",
            "-req",
            "-in",
            str(csr),
            "-CA",
            str(ca),
            "-CAkey",
            str(ca_key),
            "-CAcreateserial",
            "-out",
            str(cert),
            *days,
            "-extfile",
            str(extfile),
        )
    shutil.copy(ca, client / "ca.pem")
    shutil.copy(TLS_DIR / "client-cert.pem", client / "cert.pem")
    shutil.copy(TLS_DIR / "client-key.pem", client / "key.pem")


# -- dockerd -----------------------------------------------------------------------


def _start_dockerd(host: Host) -> None:
    data_root = CACHE / host.name / "docker"
    data_root.mkdir(parents=True, exist_ok=True)
    empty_config = host.run_dir / "daemon.json"
    empty_config.write_text("{}\n")
    log = open(host.run_dir / "dockerd.log", "ab")  # noqa: SIM115 - handed to the daemon
    # vfs: works on any filesystem; no iptables and no bridge inside the namespace, so
    # containers use the host network, which is this host's namespace.
    host.dockerd = subprocess.Popen(
        [
            *_in_netns(host),
            "dockerd",
            "--config-file",
            str(empty_config),
            "--storage-driver=vfs",
            "--iptables=false",
            "--ip6tables=false",
            "--bridge=none",
            "--data-root",
            str(data_root),
            "--exec-root",
            str(host.run_dir / "exec"),
            "--pidfile",
            str(host.run_dir / "docker.pid"),
            "--host",
            host.socket,
            *(
                [
                    "--host",
                    host.tls_url,
                    "--tlsverify",
                    "--tlscacert",
                    str(TLS_DIR / "ca.pem"),
                    "--tlscert",
                    str(TLS_DIR / "server-cert.pem"),
                    "--tlskey",
                    str(TLS_DIR / "server-key.pem"),
                ]
                if host.name in TLS_HOSTS
                else []
            ),
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,
    )
    log.close()


def _wait(
    what: str,
    ready: Callable[[], bool],
    timeout: float,
    log: Path,
    process: subprocess.Popen[bytes] | None,
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready():
            return
        if process is not None and process.poll() is not None:
            break
        time.sleep(0.3)
    tail = log.read_text(errors="replace")[-1500:] if log.is_file() else ""
    raise RuntimeError(f"{what} not ready (waited up to {timeout:.0f}s); {log}:\n{tail}")


def start(count: int = 3) -> Lab:
    """Network, sshd and dockerd for `count` hosts; torn down again if any step fails."""
    require_tools()
    teardown(count)  # leftovers of an aborted run
    started = time.monotonic()
    lab = Lab([Host(i) for i in range(1, count + 1)])
    try:
        RUN_DIR.mkdir(parents=True, exist_ok=True)
        for host in lab.hosts:
            shutil.rmtree(host.run_dir, ignore_errors=True)
            host.run_dir.mkdir(parents=True)
        _network(lab.hosts)
        _ssh_material(lab.hosts)
        _tls_material(lab.hosts)
        for host in lab.hosts:
            _start_dockerd(host)
            _start_sshd(host)
        for host in lab.hosts:
            _wait(
                f"dockerd of {host.name}",
                host.answers,
                90,
                host.run_dir / "dockerd.log",
                host.dockerd,
            )
        for host in lab.hosts:
            _wait(
                f"ssh to {host.name}",
                lambda h=host: h.answers(via_ssh=True),  # type: ignore[misc]
                30,
                host.run_dir / "sshd.log",
                host.sshd,
            )
        for host in lab.hosts:
            remove_workspaces(host)  # left by a run whose host was killed
        for host in lab.hosts:
            if host.name in TLS_HOSTS and not host.answers(via_tls=True):
                raise RuntimeError(f"{host.name} does not answer at {host.tls_url} with TLS")
    except BaseException:
        stop(lab)
        raise
    say(
        f"{count} hosts up in {time.monotonic() - started:.1f}s: "
        + ", ".join(f"{h.name}={h.addr}" for h in lab.hosts)
    )
    return lab


def remove_workspaces(host: Host) -> None:
    """coltec's containers and volumes on a host (each is a full copy on vfs)."""
    try:
        ids = host.docker("ps", "-aq", "--filter", "label=coltec.workspace").stdout.split()
        if ids:
            host.docker("rm", "-f", "-v", *ids, timeout=300)
        vols = host.docker("volume", "ls", "-q", "--filter", "label=coltec.workspace").stdout
        if vols.split():
            host.docker("volume", "rm", "-f", *vols.split())
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        say(f"cleanup on {host.name}: {exc}")


def stop(lab: Lab) -> None:
    """Remove coltec's containers and volumes, then end every process and the network.

    A host whose dockerd was killed keeps them until the next start removes them.
    """
    for host in lab.hosts:
        if host.dockerd is not None and host.dockerd.poll() is None:
            remove_workspaces(host)
    teardown(len(lab.hosts))
    for host in lab.hosts:
        for proc in (host.dockerd, host.sshd):
            if proc is not None and proc.poll() is None:
                proc.kill()
            if proc is not None:
                proc.wait(timeout=10)
