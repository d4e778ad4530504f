"""Concurrent `cs:up`s of one nexus (coltec.hosts.claims): one at a time per workspace,
and placements that count each other. Engines here are sockets the test controls: one
that takes the connection and never answers (a cs:up stays in placement), and a closed
port; the real placement across engines is in test_multihost.py."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from coltec.hosts.hostsfile import Host
from coltec.hosts.query import HostInfo
from coltec.runtime.docker import Container
from tests.conftest import REPO_ROOT
from tests.support.mise import MISE, mise_env, mise_run


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent() -> Iterator[socket.socket]:
    """A 'Docker engine' that accepts a connection and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        s.settimeout(60)
        yield s


@pytest.fixture
def env(tmp_path: Path, silent: socket.socket) -> dict[str, str]:
    """A nexus with workspace team/x and a hosts file: the silent engine, a closed port."""
    codespaces = tmp_path / "nexus" / "codespaces"
    codespaces.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(codespaces.parent)], check=True)
    hosts = tmp_path / "hosts.yaml"
    hosts.write_text(
        "hosts:\n"
        f"  - {{name: hung, docker_host: 'tcp://127.0.0.1:{silent.getsockname()[1]}'}}\n"
        f"  - {{name: gone, docker_host: 'tcp://127.0.0.1:{_free_port()}'}}\n"
    )
    env = {
        **mise_env(),
        "COLTEC_CODESPACES_DIR": str(codespaces),
        "COLTEC_HOSTS": str(hosts),
        "COLTEC_RUNTIME_DIR": str(tmp_path / "run"),
    }
    env.pop("DOCKER_HOST", None)
    created = cs(env, "cs:new", "team/x", "--defaults")
    assert created.returncode == 0, created.stderr
    return env


def cs(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return mise_run(*args, env=env)


def start_up(env: dict[str, str], key: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [MISE, "run", "cs:up", key],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


BUSY = "team/x is being started by another cs:up"


def test_a_second_cs_up_of_a_workspace_is_refused_while_the_first_runs(
    env: dict[str, str], silent: socket.socket
) -> None:
    first = start_up(env, "team/x")
    conn, _ = silent.accept()  # the first cs:up is asking the hosts: it holds its claim
    second = cs(env, "cs:up", "team/x")
    assert first.poll() is None, "the second cs:up waited for the first"
    assert second.returncode == 1, second.stderr
    assert BUSY in second.stderr and "hint:" in second.stderr

    conn.close()  # the engine goes away: the first cs:up fails, its claim ends with it
    silent.close()
    _, stderr = first.communicate(timeout=120)
    assert first.returncode == 1 and "no host can take" in stderr and BUSY not in stderr
    third = cs(env, "cs:up", "team/x")
    assert third.returncode == 1 and "no host can take" in third.stderr
    assert BUSY not in third.stderr


def test_the_claim_of_a_killed_cs_up_does_not_block_the_next(
    env: dict[str, str], silent: socket.socket
) -> None:
    first = start_up(env, "team/x")
    conn, _ = silent.accept()
    os.killpg(first.pid, signal.SIGKILL)  # mise, python and docker: no clean-up runs
    first.wait(timeout=30)
    conn.close()
    silent.close()
    again = cs(env, "cs:up", "team/x")
    assert again.returncode == 1 and "no host can take" in again.stderr
    assert BUSY not in again.stderr


PLACE_ONE = """
import sys, time
from coltec.hosts.claims import claiming
from coltec.hosts.hostsfile import Host
from coltec.hosts.placement import choose
from coltec.hosts.query import HostInfo

with claiming(sys.argv[1], nexus="n") as claim:
    with claim.placing() as others:
        infos = [
            HostInfo(Host(n, f"ssh://{n}", False, 2), reachable=True, claimed=others.get(n, set()))
            for n in ("a", "b")
        ]
        best, _ = choose(infos)
        time.sleep(0.2)  # as long as asking real hosts takes, give or take
        claim.hold(best.host.name)
    print(best.host.name, flush=True)
    time.sleep(3)  # devcontainer up: the claim stays while the container is made
"""


def test_concurrent_placements_count_each_other(tmp_path: Path) -> None:
    """Four cs:ups at once, two hosts of capacity 2 that look empty to each: 2 and 2."""
    env = {**os.environ, "COLTEC_RUNTIME_DIR": str(tmp_path / "run")}
    script = textwrap.dedent(PLACE_ONE)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, f"team/w{i}"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(4)
    ]
    chosen = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        chosen.append(out.strip())
    assert sorted(chosen) == ["a", "a", "b", "b"]
    claims = json.loads((tmp_path / "run" / "nexus-n" / "claims.json").read_text())
    assert claims == {}  # every claim released at the end


def test_a_claimed_workspace_with_its_container_counts_once() -> None:
    container = Container("id1", "c", "running", "Up", "2026-01-01", "team/a", "")
    info = HostInfo(Host("h", "ssh://h", False, 3), reachable=True, containers=[container])
    info.claimed = {"team/a", "team/b"}
    assert (info.placed, info.free) == (2, 1)
