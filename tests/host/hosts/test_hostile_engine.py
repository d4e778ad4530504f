"""What an engine (or whatever answers in its place) says cannot crash or rewrite the
terminal of `cs:hosts` / `cs:up`, and what the claims file says cannot block `cs:up`
for good. The engine here is a stand-in `docker` on PATH that prints hostile answers —
at the process boundary, as a compromised or broken engine host would."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.mise import mise_env, mise_run

STAND_IN = """#!{python}
import os, sys
if sys.argv[1:2] == ["info"]:
    sys.stdout.buffer.write(open(os.environ["HOSTILE_INFO"], "rb").read())
    sys.exit(int(os.environ.get("HOSTILE_RC", "0")))
if sys.argv[1:2] == ["ps"] and os.environ.get("HOSTILE_PS"):
    sys.stdout.buffer.write(open(os.environ["HOSTILE_PS"], "rb").read())
sys.exit(0)  # anything else: nothing there
"""

ESC = "\x1b]0;pwned\x07\x1b[2J\x1b[31m"


def _engine(tmp_path: Path, answer: bytes) -> dict[str, str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    docker = bin_dir / "docker"
    docker.write_text(STAND_IN.format(python=sys.executable))
    docker.chmod(docker.stat().st_mode | stat.S_IXUSR)
    (tmp_path / "info").write_bytes(answer)
    hosts = tmp_path / "hosts.yaml"
    hosts.write_text("hosts:\n  - {name: h1, docker_host: 'unix:///nowhere/docker.sock'}\n")
    env = mise_env()
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
        HOSTILE_INFO=str(tmp_path / "info"),
        COLTEC_HOSTS=str(hosts),
        COLTEC_RUNTIME_DIR=str(tmp_path / "run"),
    )
    return env


HOSTILE_INFO = {
    "truncated": b'{"ServerVersion": "27.',
    "not-utf8": b'{"ServerVersion": "27.\xff\xfe", "NCPU": 4}',
    "binary": bytes(range(256)) * 4,
    "a-list": b"[1, 2, 3]",
    "ncpu-a-list": b'{"ServerVersion": "27.0", "NCPU": [8], "MemTotal": {"a": 1}}',
    "ncpu-too-big": b'{"ServerVersion": "27.0", "NCPU": 1e400, "MemTotal": 1e400}',
    "version-a-dict": b'{"ServerVersion": {"v": 1}}',
    "errors-not-text": b'{"ServerErrors": [1, {"a": 2}, null]}',
    "errors-a-string": b'{"ServerErrors": "engine on fire"}',
    "deep": b'{"ServerVersion": "27.0", "x": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
    "huge": b'{"ServerVersion": "27.0", "x": "' + b"a" * (8 << 20) + b'"}',
}


@pytest.mark.parametrize("case", sorted(HOSTILE_INFO))
def test_a_hostile_docker_info_is_an_unreachable_or_plain_host_never_a_traceback(
    tmp_path: Path, case: str
) -> None:
    result = mise_run("cs:hosts", env=_engine(tmp_path, HOSTILE_INFO[case]))
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode in (0, 1), result.stderr[-2000:]
    assert "h1" in result.stdout + result.stderr
    listed = mise_run("cs:hosts", "--json", env=_engine(tmp_path, HOSTILE_INFO[case]))
    [row] = json.loads(listed.stdout)["hosts"]
    assert row["cpus"] is None or isinstance(row["cpus"], int)
    assert row["memory_bytes"] is None or isinstance(row["memory_bytes"], int)
    assert isinstance(row["engine_version"], str) and len(row["engine_version"]) <= 100


def test_a_hostile_answer_with_usable_facts_is_shown_as_such(tmp_path: Path) -> None:
    answer = b'{"ServerVersion": "27.0", "NCPU": 1e400, "MemTotal": 2048}'
    listed = mise_run("cs:hosts", "--json", env=_engine(tmp_path, answer))
    [row] = json.loads(listed.stdout)["hosts"]
    assert (row["reachable"], row["cpus"], row["memory_bytes"]) == (True, None, 2048)


def test_engine_text_is_printed_with_control_characters_escaped(tmp_path: Path) -> None:
    answer = json.dumps({"ServerVersion": f"27.0{ESC}", "NCPU": 2}).encode()
    shown = mise_run("cs:hosts", env=_engine(tmp_path, answer))
    assert shown.returncode == 0, shown.stderr
    assert "\x1b]0;" not in shown.stdout and "\x07" not in shown.stdout
    assert "\\x1b]0;pwned\\x07" in shown.stdout
    failing = json.dumps({"ServerErrors": [f"boom {ESC}\u202eevil"]}).encode()
    down = mise_run("cs:hosts", env=_engine(tmp_path, failing))
    assert down.returncode == 1
    # mise's own "[cs:hosts] ERROR task failed" line is coloured where mise decides to
    # (CI=true makes it so): that line is mise's, not engine text.
    both = "\n".join(
        line
        for line in (down.stdout + down.stderr).splitlines()
        if not re.search(r"\[cs:hosts\].*ERROR.*task failed", line)
    )
    assert "\x1b" not in both
    assert "\x1b]0;" not in both and "\u202e" not in both and "\\u202e" in both


def test_a_hostile_docker_ps_is_no_traceback_and_its_names_are_escaped(tmp_path: Path) -> None:
    good = {
        "id": "c1",
        "name": f"evil{ESC}",
        "state": "running",
        "status": "Up",
        "created": "2026-01-01",
        "workspace": f"team/x{ESC}",
        "config_hash": None,
    }
    lines = [
        b"not json",
        b"[1, 2]",
        b'{"id": 1, "name": [], "state": {}}',
        b"[" * 100_000,
        b"\xff\xfe",
        json.dumps(good).encode(),
    ]
    (tmp_path / "ps").write_bytes(b"\n".join(lines) + b"\n")
    env = _engine(tmp_path, json.dumps({"ServerVersion": "27.0", "NCPU": 2}).encode())
    env["HOSTILE_PS"] = str(tmp_path / "ps")
    for task in ("cs:hosts", "cs:list"):
        shown = mise_run(task, env=env)
        assert "Traceback" not in shown.stderr, shown.stderr[-3000:]
        assert "\x1b" not in shown.stdout + shown.stderr, task
    listed = mise_run("cs:hosts", "--json", env=env)
    [row] = json.loads(listed.stdout)["hosts"]
    assert row["reachable"] is True and row["workspaces"] == 1, row


# -- the claims file ---------------------------------------------------------------------


def _started(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[19]


@pytest.fixture
def nexus(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A nexus with team/x, one host that refuses connections; and its claims folder."""
    codespaces = tmp_path / "nexus" / "codespaces"
    codespaces.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(codespaces.parent)], check=True)
    env = _engine(tmp_path, b"")
    env.update(COLTEC_CODESPACES_DIR=str(codespaces), HOSTILE_RC="1")
    env.pop("DOCKER_HOST", None)
    assert mise_run("cs:new", "team/x", "--defaults", env=env).returncode == 0
    first = mise_run("cs:up", "team/x", env=env)
    assert first.returncode == 1 and "no Docker engine answers" in first.stderr, first.stderr
    [folder] = (tmp_path / "run").glob("nexus-*")
    return env, folder


BUSY = "being started"


def _claims_of(pid: int, **extra: object) -> str:
    return json.dumps({"team/x": {"pid": pid, "started": _started(pid), "host": "h1", **extra}})


@pytest.mark.parametrize(
    "claims",
    [
        "pid-1",
        "alive-not-a-cs-up",
        "pid-true",
        "garbage",
        "not-utf8",
        "deep",
        "a-list",
        "fifo",
        "huge",
    ],
)
def test_a_stale_or_malformed_claim_never_blocks_cs_up(
    nexus: tuple[dict[str, str], Path], claims: str
) -> None:
    env, folder = nexus
    path = folder / "claims.json"
    path.unlink(missing_ok=True)
    written = {
        "pid-1": _claims_of(1),
        "alive-not-a-cs-up": _claims_of(os.getpid()),
        "pid-true": json.dumps({"team/x": {"pid": True, "started": _started(1)}}),
        "garbage": '{"team/x": {"pid": ',
        "deep": "[" * 100_000 + "]" * 100_000,
        "a-list": "[1]",
        "huge": json.dumps({f"o/w{i}": {"pid": 1, "started": _started(1)} for i in range(40_000)}),
    }
    if claims == "fifo":
        os.mkfifo(path)
    elif claims == "not-utf8":
        path.write_bytes(b'{"team/x": {"pid": 1, "host": "\xff"}}')
    else:
        path.write_text(written[claims])
    again = mise_run("cs:up", "team/x", env=env, timeout=60)
    assert "Traceback" not in again.stderr, again.stderr[-3000:]
    assert BUSY not in again.stderr, again.stderr
    assert again.returncode == 1 and "no Docker engine answers" in again.stderr, again.stderr


def test_a_live_cs_up_still_holds_its_claim(nexus: tuple[dict[str, str], Path]) -> None:
    """The allowed twin: a real claim (a process holding its held-<pid>.lock) blocks."""
    env, folder = nexus
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from coltec.hosts.claims import Claim\n"
            "from pathlib import Path\n"
            "Claim(Path(sys.argv[1]), 'team/x').take()\n"
            "print('held', flush=True)\n"
            "time.sleep(60)\n",
            str(folder),
        ],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = mise_run("cs:up", "team/x", env=env, timeout=60)
        assert busy.returncode == 1 and BUSY in busy.stderr, busy.stderr
    finally:
        holder.kill()
        holder.wait()
    after = mise_run("cs:up", "team/x", env=env, timeout=60)
    assert BUSY not in after.stderr and "no Docker engine answers" in after.stderr
