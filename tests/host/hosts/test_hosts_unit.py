"""The hosts file, the placement rule and the remote configuration, without any engine.

Invalid hosts files must give one line per problem naming file:line, the field and a
hint, and exit 2 from `cs:hosts` (checked through the real command once).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from coltec.errors import HostsFileError, PlacementError
from coltec.hosts.hostsfile import load_hosts
from coltec.hosts.placement import choose
from coltec.hosts.query import HostInfo
from coltec.hosts.remote import remote_config, volume_name
from coltec.runtime.docker import Container
from coltec.workspaces import Workspace
from tests.conftest import REPO_ROOT

VALID = """\
hosts:
  - name: here
    docker_host: unix:///var/run/docker.sock
    max_workspaces: 10
  - name: build1
    docker_host: ssh://coltec@build1.example.com
    labels: {gpu: "yes"}
  - name: cloud
    docker_host: tcp://10.0.0.5:2376
    tls: {cert_path: ~/.docker/cloud}
    local: false
pins:
  acme/api-dev: build1
"""

INVALID = [
    (
        "hosts:\n  - name: a\n    docker_host: http://x\n",
        ":3:18: $.hosts[0].docker_host:",
    ),
    (
        "hosts:\n  - name: a\n    docker_host: unix:///s\n    max_workspace: 3\n",
        ":4:5: $.hosts[0].max_workspace: unknown key 'max_workspace'",
    ),
    (
        "hosts:\n  - name: a\n    docker_host: unix:///s\n  - name: a\n    docker_host: ssh://b\n",
        ":4:11: $.hosts[1].name: host name 'a' is used twice",
    ),
    (
        "hosts:\n  - name: a\n    docker_host: unix:///s\npins:\n  acme/x: nowhere\n",
        ":5:11: $.pins.acme/x: 'acme/x' is pinned to 'nowhere', which is not a host here",
    ),
    (
        "hosts:\n  - name: a\n    docker_host: ssh://b\n    tls: {cert_path: /c}\n",
        ":4:5: $.hosts[0].tls: tls applies to tcp:// engines only",
    ),
    ("hosts: [\n", ": $: YAML syntax error"),
    ("hosts:\n  - name: a\n    max_workspaces: -1\n", "docker_host"),
]


def test_a_valid_hosts_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(VALID)
    hosts = load_hosts(path)
    assert [(h.name, h.local, h.max_workspaces) for h in hosts.hosts] == [
        ("here", True, 10),
        ("build1", False, None),
        ("cloud", False, None),
    ]
    assert hosts.pinned("acme/api-dev") is not None
    assert hosts.get("build1").labels == {"gpu": "yes"}
    env = hosts.get("cloud").engine().env()
    assert env["DOCKER_HOST"] == "tcp://10.0.0.5:2376"
    assert env["DOCKER_TLS_VERIFY"] == "1"
    assert env["DOCKER_CERT_PATH"] == os.path.expanduser("~/.docker/cloud")


@pytest.mark.parametrize(("text", "expected"), INVALID)
def test_an_invalid_hosts_file_says_where_and_why(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text(text)
    with pytest.raises(HostsFileError) as err:
        load_hosts(path)
    assert err.value.exit_code == 2
    assert expected in err.value.message
    assert str(path) in err.value.message


def test_no_hosts_file_is_the_local_engine(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLTEC_HOSTS", "")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    hosts = load_hosts()
    assert hosts.path is None
    assert [(h.name, h.docker_host, h.local) for h in hosts.hosts] == [("local", "", True)]


def test_cs_hosts_rejects_a_bad_file_with_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yaml"
    path.write_text("hosts:\n  - name: Bad Name\n    docker_host: unix:///s\n")
    env = {**os.environ, "COLTEC_HOSTS": str(path), "MISE_YES": "1"}
    env["MISE_TRUSTED_CONFIG_PATHS"] = str(REPO_ROOT)
    proc = subprocess.run(
        [str(REPO_ROOT / "node_modules" / ".bin" / "mise"), "run", "cs:hosts"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert f'{path}:2:11: $.hosts[0].name: "Bad Name" does not match' in proc.stderr
    assert "hint:" in proc.stderr


def _info(name: str, capacity: int | None, placed: int, reachable: bool = True) -> HostInfo:
    from coltec.hosts.hostsfile import Host

    containers = [
        Container(f"id{name}{i}", "c", "running", "Up", f"2026-01-0{i + 1}", f"o/w{i}", "")
        for i in range(placed)
    ]
    return HostInfo(
        Host(name, f"ssh://{name}", False, capacity),
        reachable=reachable,
        error="" if reachable else "connection refused",
        containers=containers,
    )


def test_placement_takes_the_most_free_capacity() -> None:
    best, reason = choose([_info("a", 2, 1), _info("b", 5, 2), _info("c", 2, 0)])
    assert best.host.name == "b" and "3 free" in reason


def test_placement_ties_go_to_fewer_workspaces_then_file_order() -> None:
    assert choose([_info("a", 4, 2), _info("b", 3, 1)])[0].host.name == "b"
    assert choose([_info("a", 3, 1), _info("b", 3, 1)])[0].host.name == "a"


def test_placement_unlimited_beats_any_number_and_skips_full_or_unreachable() -> None:
    infos = [_info("full", 2, 2), _info("down", None, 0, reachable=False), _info("u", None, 9)]
    assert choose(infos)[0].host.name == "u"
    with pytest.raises(PlacementError) as err:
        choose(infos[:2])
    assert "full" in err.value.message and "connection refused" in err.value.message


def test_remote_config_has_no_bind_mount_and_a_volume(tmp_path: Path) -> None:
    from coltec.hosts.hostsfile import Host

    ws_dir = tmp_path / "acme" / "api-dev"
    (ws_dir / ".devcontainer").mkdir(parents=True)
    (ws_dir / ".devcontainer" / "devcontainer.json").write_text(
        json.dumps(
            {
                "image": "coltec/base:latest",
                "workspaceMount": "source=${localWorkspaceFolder},target=/workspace,type=bind",
                "mounts": [
                    "source=${localEnv:HOME}/.config/coltec,target=/home/coltec/.config/coltec,"
                    "type=bind,readonly",
                    "source=cache,target=/cache,type=volume",
                ],
                "initializeCommand": ["mkdir", "-p", "x"],
                "runArgs": ["--network=host"],
            }
        )
    )
    ws = Workspace("acme", "api-dev", ws_dir)
    config = remote_config(ws, Host("far", "ssh://far", False))
    assert config["workspaceMount"] == "source=coltec_acme_api-dev,target=/workspace,type=volume"
    assert config["mounts"] == ["source=cache,target=/cache,type=volume"]
    assert "initializeCommand" not in config
    assert config["runArgs"][:3] == ["--network=host", "--label", "coltec.host=far"]
    assert "--tmpfs" in config["runArgs"]
    assert volume_name(Workspace("a-b", "c", ws_dir)) != volume_name(Workspace("a", "b-c", ws_dir))


def test_remote_config_keeps_a_dockerfile_build_and_refuses_compose(tmp_path: Path) -> None:
    from coltec.errors import ColtecError
    from coltec.hosts.hostsfile import Host

    ws_dir = tmp_path / "acme" / "built"
    (ws_dir / ".devcontainer").mkdir(parents=True)
    config_file = ws_dir / ".devcontainer" / "devcontainer.json"
    config_file.write_text(json.dumps({"build": {"dockerfile": "Dockerfile", "context": ".."}}))
    ws = Workspace("acme", "built", ws_dir)
    build = remote_config(ws, Host("far", "ssh://far", False))["build"]
    assert build == {
        "dockerfile": str(ws_dir / ".devcontainer" / "Dockerfile"),
        "context": str(ws_dir),
    }
    config_file.write_text(json.dumps({"dockerComposeFile": "compose.yml", "service": "app"}))
    with pytest.raises(ColtecError) as err:
        remote_config(ws, Host("far", "ssh://far", False))
    assert "local hosts only" in err.value.message
