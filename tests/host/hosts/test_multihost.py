"""Three Docker hosts (lab.py) — h1 by its unix socket, h2 only by ssh://, h3 only by
tcp:// with TLS: placement by capacity, cs:list across hosts, a move from the ssh://
host to the TLS one with every file compared on both sides and in the bucket, and a
host whose dockerd hangs, then dies, mid-run while the others keep working.

Everything goes through the user's commands (`mise run cs:...`) with a hosts file;
the test's own docker calls only inspect.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT
from tests.host.hosts.images import cs_image
from tests.host.hosts.lab import RUN_DIR, Lab, hosts_yaml
from tests.support.s3 import S3Server

pytestmark = [pytest.mark.multihost, pytest.mark.slow]

INTERVAL = 30
HOSTS_TIMEOUT = 5  # cs:hosts --timeout in the failure scenario


OUTPUTS: list[str] = []


def cs(
    env: dict[str, str], *args: str, check: bool = True, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    proc = subprocess.run(
        [str(REPO_ROOT / "node_modules" / ".bin" / "mise"), "run", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    print(f"[{time.monotonic() - started:6.1f}s] mise run {' '.join(args)} -> {proc.returncode}")
    OUTPUTS.extend((proc.stdout, proc.stderr))
    if check and proc.returncode != 0:
        pytest.fail(
            f"mise run {' '.join(args)} exited {proc.returncode}\n"
            f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}",
            pytrace=False,
        )
    return proc


def new_workspace(env: dict[str, str], key: str, image: str) -> Path:
    cs(
        env,
        "cs:new",
        key,
        "--defaults",
        "--data",
        "project=demo",
        "--data",
        'run_args=["--network=host"]',
        "--data",
        f"sync_interval={INTERVAL}",
        "--data",
        f"base_image={image}",
        "--data",
        "start_delay=0",
    )
    return Path(os.environ["COLTEC_CODESPACES_DIR"]) / key


def listed(env: dict[str, str]) -> dict[str, dict[str, Any]]:
    data = json.loads(cs(env, "cs:list", "--json", check=False).stdout)
    return {r["workspace"]: r for r in data["workspaces"]} | {"_hosts": data["hosts"]}


def tree_digest(lab: Lab, host: str, container: str) -> dict[str, str]:
    """sha256 of every file under /workspace except the worker's state, by path."""
    out = (
        lab.host(host)
        .docker(
            "exec",
            container,
            "sh",
            "-c",
            "cd /workspace && find . -path ./.coltec -prune -o -type f -print0 "
            "| xargs -0 -r sha256sum",
        )
        .stdout
    )
    return {line[66:]: line[:64] for line in out.splitlines() if line.strip()}


def bucket_digest(root: Path) -> dict[str, str]:
    found = {}
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and not rel.startswith(".coltec") and "/.coltec" not in rel:
            found[f"./{rel}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def container_of(lab: Lab, host: str, key: str) -> str:
    ids = (
        lab.host(host)
        .docker("ps", "-q", "--filter", f"label=coltec.workspace={key}")
        .stdout.split()
    )
    assert len(ids) == 1, f"expected one running container of {key} on {host}: {ids}"
    return ids[0]


class ArgvWatch:
    """Samples every process's command line (every 50 ms) for the given values."""

    def __init__(self, values: list[str]) -> None:
        self.values, self.seen, self.samples = values, [], 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
                try:
                    text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                for value in self.values:
                    if value in text:
                        self.seen.append(f"{cmdline.parent.name}: {text[:200]}")
            self.samples += 1
            self._stop.wait(0.05)

    def __enter__(self) -> ArgvWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def concurrent_placement(env: dict[str, str], base_image: str) -> None:
    """Two cs:ups at once count each other (coltec.hosts.claims). Free now: h2 2, h3 1;
    the first goes to h2, the second finds h2 and h3 at 1 free and takes h3 (fewer
    workspaces). Without the claims both would see h2 at 2 free and go there."""
    keys = ("acme/four", "acme/five")
    for key in keys:
        new_workspace(env, key, base_image)
    mise = str(REPO_ROOT / "node_modules" / ".bin" / "mise")
    procs = [
        subprocess.Popen(
            [mise, "run", "cs:up", key],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for key in keys
    ]
    hosts = {}
    for key, proc in zip(keys, procs, strict=True):
        out, err = proc.communicate(timeout=900)
        OUTPUTS.extend((out, err))
        assert proc.returncode == 0, err
        hosts[key] = re.search(rf"{key} is up on (\w+)", out)[1]  # type: ignore[index]
    print("placed at once:", hosts)
    assert sorted(hosts.values()) == ["h2", "h3"]
    for key in keys:
        cs(env, "cs:down", key, "--rm")


def forced_move(env: dict[str, str], lab: Lab) -> None:
    """--force --purge: acme/two's worker on h3 is stuck (SIGSTOP), so its final sync
    cannot answer; the move goes on from what the bucket has (what the last sync put
    there, compared by content) and --purge removes the source's volume."""
    h2, h3 = lab.host("h2"), lab.host("h3")
    two = container_of(lab, "h3", "acme/two")
    h3.docker("exec", two, "sh", "-c", "echo synced-before-stuck > /workspace/two.txt")
    flushed = h3.docker("exec", two, "coltec-worker", "flush", "--timeout", "120", check=False)
    assert flushed.returncode == 0, flushed.stderr
    synced = tree_digest(lab, "h3", two)
    h3.docker("exec", two, "sh", "-c", "kill -STOP $(cat /workspace/.coltec/state/worker.pid)")
    args = ("--to", "h2", "--timeout", "15", "--force", "--purge", "--json")
    forced = json.loads(cs(env, "cs:move", "acme/two", *args).stdout)
    print("forced move:", [(s["name"], s["detail"]) for s in forced["steps"]])
    assert forced["forced"] and forced["purged"]
    assert forced["steps"][0]["detail"].startswith("FAILED (--force): "), forced["steps"][0]
    assert "no answer from pid" in forced["steps"][0]["detail"]  # the cause, not the hint
    after = tree_digest(lab, "h2", container_of(lab, "h2", "acme/two"))
    assert {p: after.get(p) for p in synced} == synced
    assert "coltec_acme_two" not in h3.docker("volume", "ls", "-q").stdout.split()
    assert not h3.docker("ps", "-aq", "--filter", "label=coltec.workspace=acme/two").stdout.strip()
    assert h2.docker("exec", container_of(lab, "h2", "acme/two"), "true").returncode == 0


def test_cs_image_skips_a_host_that_has_the_image_and_names_one_that_fails(
    lab: Lab, base_image: str, rootfs: str, tmp_path: Path
) -> None:
    """`cs:image --host ...` builds on the first host named (h1) from the same inputs as
    base_image, so the image id is the same: h2 (ssh://) and a second entry for h1's
    engine are skipped. A host whose engine is gone is named, exit 1, the others done."""
    gone = RUN_DIR / "gone.sock"
    hosts_file = tmp_path / "hosts.yaml"
    hosts_file.write_text(
        hosts_yaml(lab)
        + f"  - name: h1-again\n    docker_host: {lab.host('h1').socket}\n"
        + f"  - name: gone\n    docker_host: unix://{gone}\n"
    )
    names = ("h1", "gone", "h2", "h1-again")
    proc = cs_image(rootfs, hosts_file, *(w for n in names for w in ("--host", n)), check=False)
    assert proc.returncode == 1, proc.stderr[-2000:]
    lines = [line.strip() for line in proc.stdout.splitlines()]
    assert lines[0].startswith(f"built {base_image}: "), lines
    assert lines[1:] == [
        "h1: built there",
        lines[2],  # the error, checked below
        "h2: current (the same image id was there; skipped)",
        "h1-again: current (the same image id was there; skipped)",
    ]
    assert lines[2].startswith("gone: FAILED: no Docker engine answers at host gone"), lines[2]
    assert (
        f"did not reach 1 of 4 hosts:\ngone: no Docker engine answers at host gone (unix://{gone})"
        in proc.stderr
    )
    progress = [line for line in proc.stderr.splitlines() if line.startswith("host ")]
    assert any(line.startswith("host h2 (ssh://") and "skipped" in line for line in progress)
    ids = {
        lab.host(n).docker("image", "inspect", "--format", "{{.Id}}", base_image).stdout
        for n in ("h1", "h2")
    }
    assert len(ids) == 1, ids


@pytest.mark.timeout(1200)  # cold its body took 395 s (first devcontainer builds per host)
def test_three_hosts(lab: Lab, base_image: str, hub_s3: S3Server, tmp_path: Path) -> None:
    with ArgvWatch([hub_s3.secret_key]) as watch:
        outputs = scenario(lab, base_image, hub_s3, tmp_path)
    assert watch.samples > 100
    assert not watch.seen, f"a secret on a command line: {watch.seen[:3]}"
    for text in outputs:
        assert hub_s3.secret_key not in text


def scenario(lab: Lab, base_image: str, hub_s3: S3Server, tmp_path: Path) -> list[str]:
    hosts_file = tmp_path / "hosts.yaml"
    hosts_file.write_text(hosts_yaml(lab))
    user_yaml = tmp_path / "user.yaml"
    user_yaml.write_text("user_id: tester\n")
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        **hub_s3.env("r2"),
        "PATH": f"{lab.ssh_path()}{os.pathsep}{os.environ['PATH']}",
        "COLTEC_HOSTS": str(hosts_file),
        "COLTEC_USER_CONFIG": str(user_yaml),
        "MISE_YES": "1",
        "MISE_TRUSTED_CONFIG_PATHS": str(REPO_ROOT),
        "HOME": str(home),
    }
    env.pop("DOCKER_HOST", None)

    # cs:hosts: every host reachable, h2 only through ssh://, h3 only through TLS
    hosts = json.loads(cs(env, "cs:hosts", "--json").stdout)["hosts"]
    assert [(h["name"], h["reachable"], h["local"]) for h in hosts] == [
        ("h1", True, True),
        ("h2", True, False),
        ("h3", True, False),
    ]
    assert all(h["engine_version"] and h["cpus"] for h in hosts), hosts
    assert [h["free"] for h in hosts] == [1, 3, 2]

    for key in ("acme/one", "acme/two", "acme/three"):
        new_workspace(env, key, base_image)

    # Placement by capacity: most free first (h2: 3), then the tie h2/h3 at 2 goes to the
    # host with fewer workspaces (h3); --host overrides.
    assert "acme/one is up on h2" in cs(env, "cs:up", "acme/one").stdout
    assert "acme/two is up on h3" in cs(env, "cs:up", "acme/two").stdout
    assert "acme/three is up on h1" in cs(env, "cs:up", "acme/three", "--host", "h1").stdout
    # an existing container stays where it is; --host elsewhere is refused
    assert "acme/one is up on h2" in cs(env, "cs:up", "acme/one").stdout
    refused = cs(env, "cs:up", "acme/one", "--host", "h1", check=False)
    assert refused.returncode == 2 and "cs:move acme/one --to h1" in refused.stderr
    concurrent_placement(env, base_image)

    rows = listed(env)
    assert {
        k: (rows[k]["host"], rows[k]["container"]) for k in ("acme/one", "acme/two", "acme/three")
    } == {
        "acme/one": ("h2", "running"),
        "acme/two": ("h3", "running"),
        "acme/three": ("h1", "running"),
    }
    hosts = json.loads(cs(env, "cs:hosts", "--json").stdout)["hosts"]
    assert [(h["running_workspaces"], h["free"]) for h in hosts] == [(1, 0), (1, 2), (1, 1)]
    table = cs(env, "cs:hosts").stdout
    assert "h3 (remote)" in table and "tcp://10.231.77.13:2376" in table and "site=here" in table
    table = cs(env, "cs:list").stdout
    assert "HOST" in table
    assert any(line.startswith("acme/three") and " h1 " in line for line in table.splitlines())

    # Remote host: /workspace is a named volume, the label says where, no local path
    one = container_of(lab, "h2", "acme/one")
    inspect = json.loads(lab.host("h2").docker("inspect", one, via_ssh=True).stdout)[0]
    assert inspect["Config"]["Labels"]["coltec.host"] == "h2"
    mounts = {m["Destination"]: m for m in inspect["Mounts"]}
    assert mounts["/workspace"]["Type"] == "volume"
    assert mounts["/workspace"]["Name"] == "coltec_acme_one"
    assert all(m["Type"] != "bind" for m in inspect["Mounts"]), inspect["Mounts"]
    # ...the user config and the secrets arrived as files (secrets: tmpfs, 0600, the user's)
    h2 = lab.host("h2")
    assert h2.docker("exec", one, "cat", "/home/coltec/.config/coltec/user.yaml").stdout == (
        "user_id: tester\n"
    )
    perms = h2.docker("exec", one, "stat", "-c", "%a %U", "/run/coltec/secrets/secrets.json").stdout
    assert perms.split() == ["600", "coltec"]
    secrets = h2.docker("exec", one, "cat", "/run/coltec/secrets/secrets.json").stdout
    assert hub_s3.secret_key in secrets
    fs = h2.docker("exec", one, "stat", "-f", "-c", "%T", "/run/coltec/secrets").stdout
    assert fs.strip() == "tmpfs"
    # ...and no secret in what `docker inspect` shows, on any host
    for host in lab.hosts:
        ids = host.docker("ps", "-aq").stdout.split()
        assert hub_s3.secret_key not in host.docker("inspect", *ids).stdout
    status = json.loads(h2.docker("exec", one, "coltec-worker", "status", "--json").stdout)
    assert status["running"] is True, status
    # the local host keeps the bind mount of the nexus folder, and is labelled too
    three = json.loads(
        lab.host("h1").docker("inspect", container_of(lab, "h1", "acme/three")).stdout
    )[0]
    assert three["Config"]["Labels"]["coltec.host"] == "h1"
    assert {m["Destination"]: m["Type"] for m in three["Mounts"]}["/workspace"] == "bind"

    # cs:logs and cs:up-rebuild find a workspace on a remote host; the rebuild keeps the
    # volume's data and the worker's state
    assert '"event":"started"' in cs(env, "cs:logs", "acme/two").stdout.replace(" ", "")
    two = container_of(lab, "h3", "acme/two")
    h3 = lab.host("h3")
    h3.docker("exec", two, "sh", "-c", "echo kept > /workspace/kept.txt")
    assert "acme/two is up on h3" in cs(env, "cs:up-rebuild", "acme/two").stdout
    rebuilt = container_of(lab, "h3", "acme/two")
    assert rebuilt != two
    assert h3.docker("exec", rebuilt, "cat", "/workspace/kept.txt").stdout == "kept\n"
    assert h3.docker("exec", rebuilt, "test", "-d", "/workspace/.coltec/state").returncode == 0

    # Data in acme/one on h2: enough untouched files for bisync, and an edit just before
    # the move.
    cs(
        env,
        "cs:exec",
        "acme/one",
        "--",
        "sh",
        "-c",
        "mkdir -p /workspace/data && for i in $(seq 1 40); do echo file-$i > "
        "/workspace/data/f$i.txt; done && head -c 300000 /dev/urandom > /workspace/data/blob",
    )
    cs(env, "cs:exec", "acme/one", "--", "sh", "-c", "echo synced-before-move > /workspace/a.txt")
    flushed = h2.docker("exec", one, "coltec-worker", "flush", "--timeout", "120", check=False)
    assert flushed.returncode == 0, flushed.stderr
    h2.docker("exec", one, "sh", "-c", "echo last-edit > /workspace/last.txt")
    before = tree_digest(lab, "h2", one)
    assert before["./last.txt"] == hashlib.sha256(b"last-edit\n").hexdigest()

    moved = cs(env, "cs:move", "acme/one", "--to", "h3", "--json")
    result = json.loads(moved.stdout)
    print("move steps:", json.dumps(result["steps"], indent=1), "total", result["seconds"])
    assert [s["name"] for s in result["steps"]] == [
        "final sync on h2",
        "stop on h2",
        "start on h3",
        "first sync on h3",
        "remove on h2",
    ]
    assert result["files"] >= 42 and result["bytes"] >= 300000
    for step in result["steps"]:
        assert f"{step['name']} (" in moved.stderr  # progress printed as each step ends

    target = container_of(lab, "h3", "acme/one")
    after = tree_digest(lab, "h3", target)
    bucket_root = next(p for p in hub_s3.bucket_dir.rglob("last.txt")).parent
    in_bucket = bucket_digest(bucket_root)
    for path in ("./last.txt", "./a.txt", "./data/blob", "./data/f1.txt", "./data/f40.txt"):
        assert before[path] == after[path] == in_bucket[path], path
    assert {p: d for p, d in before.items() if p in after} == {
        p: d for p, d in after.items() if p in before
    }
    assert set(before) <= set(after) and set(before) <= set(in_bucket)
    # the source container is gone, its volume kept (no --purge)
    assert (
        not lab.host("h2")
        .docker("ps", "-aq", "--filter", "label=coltec.workspace=acme/one")
        .stdout.strip()
    )
    assert "coltec_acme_one" in lab.host("h2").docker("volume", "ls", "-q").stdout.split()
    rows = listed(env)
    assert (rows["acme/one"]["host"], rows["acme/one"]["container"]) == ("h3", "running")

    # ...and back from the TLS host to the local one: into the nexus folder (a bind mount)
    h3.docker("exec", target, "sh", "-c", "echo edited-on-h3 > /workspace/last.txt")
    before = tree_digest(lab, "h3", target)
    back = json.loads(cs(env, "cs:move", "acme/one", "--to", "h1", "--json").stdout)
    print("move back:", [(s["name"], round(s["seconds"], 1)) for s in back["steps"]])
    local = container_of(lab, "h1", "acme/one")
    after = tree_digest(lab, "h1", local)
    folder = Path(os.environ["COLTEC_CODESPACES_DIR"]) / "acme" / "one"
    on_disk = bucket_digest(folder)
    in_bucket = bucket_digest(bucket_root)
    assert after["./last.txt"] == hashlib.sha256(b"edited-on-h3\n").hexdigest()
    for path in before:
        assert before[path] == after[path] == on_disk[path], path
        if not path.startswith("./.devcontainer/"):  # not synced: the nexus owns them
            assert before[path] == in_bucket[path], path
    assert in_bucket["./last.txt"] == before["./last.txt"]
    one_labels = json.loads(lab.host("h1").docker("inspect", local).stdout)[0]["Config"]["Labels"]
    assert one_labels["coltec.host"] == "h1"

    # A final sync that does not complete (here: no time allowed for it) stops the move
    # before anything changes: the source keeps running, nothing starts on the target.
    refused = cs(env, "cs:move", "acme/two", "--to", "h2", "--timeout", "0", check=False)
    assert refused.returncode == 1, refused.stderr
    assert "the final sync on h3 failed; nothing was moved" in refused.stderr
    assert container_of(lab, "h3", "acme/two")
    assert not h2.docker("ps", "-aq", "--filter", "label=coltec.workspace=acme/two").stdout.strip()
    forced_move(env, lab)

    # h3's dockerd hangs, then dies, mid-run: cs:hosts and cs:list say so within the
    # timeout; the workspace on h1 still lists, runs commands and stops normally.
    for failure in ("hangs", "dies"):
        if failure == "hangs":
            lab.host("h3").pause_dockerd()
        else:
            lab.host("h3").kill_dockerd()
        started = time.monotonic()
        out = cs(env, "cs:hosts", "--json", "--timeout", str(HOSTS_TIMEOUT), check=False)
        took = time.monotonic() - started
        assert out.returncode == 1, out.stderr
        by_name = {h["name"]: h for h in json.loads(out.stdout)["hosts"]}
        assert by_name["h3"]["reachable"] is False and by_name["h3"]["error"], by_name["h3"]
        assert by_name["h1"]["reachable"] and by_name["h2"]["reachable"]
        assert took < HOSTS_TIMEOUT + 15, (failure, took)  # mise and python start-up
        print(f"h3 {failure}: cs:hosts answered in {took:.1f}s: {by_name['h3']['error']}")

    rows = listed(env)
    assert {h["name"]: h["reachable"] for h in rows["_hosts"]} == {
        "h1": True,
        "h2": True,
        "h3": False,
    }
    assert (rows["acme/three"]["host"], rows["acme/three"]["container"]) == ("h1", "running")
    assert (rows["acme/one"]["host"], rows["acme/one"]["container"]) == ("h1", "running")
    assert (rows["acme/two"]["host"], rows["acme/two"]["container"]) == ("h2", "running")
    ran = cs(env, "cs:exec", "acme/three", "--", "cat", "/workspace/.copier-answers.yml")
    assert "acme" in ran.stdout
    down = cs(env, "cs:down", "acme/three")
    assert "final sync done" in down.stdout
    rows = listed(env)
    assert rows["acme/three"]["container"] == "exited"
    return OUTPUTS
