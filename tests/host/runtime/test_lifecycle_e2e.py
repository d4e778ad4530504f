"""End to end on a real Docker engine, only through the commands the README documents.

    cs:image (conftest) -> cs:new -> cs:up -> the worker syncs both ways -> cs:list ->
    cs:up-rebuild -> cs:down -> a fresh clone restores from the bucket -> two clones
    keep to their own containers -> the same path as a plain user with another uid

against a real `rclone serve s3` on 127.0.0.1 that containers reach over the host
network (the template's documented `run_args` answer; this engine has no bridge).
Nothing rendered is edited and nothing is chowned: a knob the test needs is an answer
or an option the README documents (`start_delay=0`). From the first command to the
last, every process's command line is watched for the run's secret values.

The tests share one run (module-scoped) and build on each other, in file order.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO_ROOT, TOOL_PATH
from tests.host.runtime.argv_watch import ArgvWatch
from tests.support.budget import budget
from tests.support.engine import DockerEngine
from tests.support.s3 import S3Server, free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

WORKSPACE = "e2e/demo-dev"
PREFIX = "e2e/demo/dev/demo-dev/workspace"  # remote_path {org}/{project}/{env}/{name}/workspace
USER_WORKSPACE = "e2e/user-dev"
USER_PREFIX = "e2e/userproj/dev/user-dev/workspace"
INTERVAL = 30  # the smallest interval the rules allow
SLACK = 25  # one rclone run plus scheduling, on a slow machine
TEST_USER, TEST_UID = "coltec-e2e", 1234
NEW_ANSWERS = (
    "--defaults",
    "--data",
    'run_args=["--network=host"]',
    "--data",
    f"sync_interval={INTERVAL}",
    "--data",
    "start_delay=0",
)


@dataclass
class Tier:
    engine: DockerEngine
    s3: S3Server
    root: Path
    secrets: dict[str, str]
    watch: ArgvWatch
    outputs: list[str] = field(default_factory=list)
    workspace_dirs: list[Path] = field(default_factory=list)

    def env(self, nexus: Path, home: Path) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("COLTEC_")}
        base.pop("DOCKER_BUILDKIT", None)
        home.mkdir(parents=True, exist_ok=True)
        return {
            **base,
            **self.engine.env(),
            **self.secrets,
            "COLTEC_CODESPACES_DIR": str(nexus / "codespaces"),
            "HOME": str(home),
            "MISE_YES": "1",
            "MISE_TRUSTED_CONFIG_PATHS": str(REPO_ROOT),
        }

    def record(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.outputs += [proc.stdout, proc.stderr]

    def cs(
        self, env: dict[str, str], *args: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """`mise run cs:...` as a user types it."""
        proc = subprocess.run(
            [str(REPO_ROOT / "node_modules" / ".bin" / "mise"), "run", *args],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=1200,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        self.record(proc)
        if check and proc.returncode != 0:
            fail_with(f"mise run {' '.join(args)}", proc)
        return proc

    def docker(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            ["docker", *args],
            env=self.engine.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        self.record(proc)
        return proc

    def bucket_file(self, prefix: str, name: str) -> Path:
        return self.s3.bucket_dir / prefix / name

    def put_in_bucket(self, prefix: str, name: str, text: str) -> None:
        subprocess.run(
            ["rclone", "rcat", self.s3.remote("r2", f"{prefix}/{name}")],
            input=text,
            env={**os.environ, **self.s3.env("r2")},
            text=True,
            check=True,
            capture_output=True,
            timeout=60,
        )


def fail_with(what: str, proc: subprocess.CompletedProcess[str]) -> None:
    pytest.fail(
        f"{what} exited {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}",
        pytrace=False,
    )


def wait_for(
    what: str, predicate: Callable[[], bool], timeout: float, diagnose: Callable[[], str]
) -> float:
    """Poll until predicate holds; the seconds it took. (e2e only: real time is the point.)"""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(1)
    pytest.fail(f"{what}: not within {timeout:.0f}s\n{diagnose()}", pytrace=False)


def make_nexus(path: Path) -> Path:
    """A nexus repository (its codespaces/ is what the team tracks)."""
    (path / "codespaces").mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    return path


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=60,
    )


def listed_row(tier: Tier, env: dict[str, str], workspace: str) -> dict[str, Any]:
    listed = json.loads(tier.cs(env, "cs:list", "--json").stdout)
    assert listed["docker"] is True, listed
    rows = [r for r in listed["workspaces"] if r["workspace"] == workspace]
    assert len(rows) == 1, listed
    return rows[0]


def exec_text(tier: Tier, env: dict[str, str], workspace: str, script: str) -> str:
    return tier.cs(env, "cs:exec", workspace, "--", "sh", "-c", script).stdout


@pytest.fixture(scope="module")
@budget(60)  # an S3 endpoint and an argv watcher
def tier(
    docker_engine: DockerEngine, coltec_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Tier]:
    root = tmp_path_factory.mktemp("e2e")
    saved_path = os.environ["PATH"]
    os.environ["PATH"] = f"{TOOL_PATH}{os.pathsep}{saved_path}"  # rclone, as under ./dev test
    s3_root = root / "s3"
    bucket = f"e2e-{uuid.uuid4().hex[:8]}"
    (s3_root / bucket).mkdir(parents=True)
    s3 = S3Server(root=s3_root, bucket=bucket, port=free_port(), log=root / "s3.log")
    s3.start()
    secrets = {
        **s3.env("r2"),
        "COLTEC_CRYPT_PASSWORD": f"crypt-{uuid.uuid4().hex}",
        "TAILSCALE_AUTH_KEY": f"tskey-auth-{uuid.uuid4().hex}",
    }
    values = [
        secrets["RCLONE_CONFIG_R2_ACCESS_KEY_ID"],
        secrets["RCLONE_CONFIG_R2_SECRET_ACCESS_KEY"],
        secrets["COLTEC_CRYPT_PASSWORD"],
        secrets["TAILSCALE_AUTH_KEY"],
    ]
    watch = ArgvWatch(values)
    watch.start()
    started = time.monotonic()
    try:
        yield Tier(docker_engine, s3, root, secrets, watch)
    finally:
        watch.stop()
        s3.stop()
        os.environ["PATH"] = saved_path
        print(f"e2e tier: {time.monotonic() - started:.0f}s, {watch.samples} argv samples")


# -- as root ------------------------------------------------------------------------


def test_root_caller_syncs_both_ways_and_keeps_data_across_rebuild(tier: Tier) -> None:
    alice = make_nexus(tier.root / "alice" / "nexus")
    env = tier.env(alice, tier.root / "alice" / "home")
    ws_dir = alice / "codespaces" / WORKSPACE
    tier.workspace_dirs.append(ws_dir)
    tier.cs(env, "cs:new", WORKSPACE, *NEW_ANSWERS, "--data", "project=demo")
    git(alice, "add", "-A")
    git(alice, "commit", "-qm", "e2e/demo-dev")

    up = tier.cs(env, "cs:up", WORKSPACE)
    assert f"{WORKSPACE} is up" in up.stdout and "user root" in up.stdout, up.stdout
    row = listed_row(tier, env, WORKSPACE)
    assert (row["container"], row["worker_running"]) == ("running", True), row
    first_id = row["container_id"]
    assert WORKSPACE in tier.docker("inspect", first_id).stdout  # recorded: checked for secrets
    assert exec_text(tier, env, WORKSPACE, "id -u").strip() == "0"
    assert '"event":"started"' in tier.cs(env, "cs:logs", WORKSPACE).stdout.replace(" ", "")

    exec_text(tier, env, WORKSPACE, "echo from-inside > /workspace/inside.txt")
    tier.put_in_bucket(PREFIX, "outside.txt", "from-bucket\n")
    diagnose = lambda: tier.cs(env, "cs:logs", WORKSPACE, "--lines", "15").stdout  # noqa: E731
    pushed = tier.bucket_file(PREFIX, "inside.txt")
    wait_for(
        "a file written in the container reaches the bucket",
        lambda: pushed.is_file() and pushed.read_text() == "from-inside\n",
        INTERVAL + SLACK,
        diagnose,
    )
    wait_for(
        "a file put in the bucket reaches the container",
        lambda: (
            (ws_dir / "outside.txt").is_file()
            and (ws_dir / "outside.txt").read_text() == "from-bucket\n"
        ),
        INTERVAL + SLACK,
        diagnose,
    )
    # A root caller's container user is root: what it writes is root's on the host.
    assert (ws_dir / "inside.txt").stat().st_uid == 0

    row = listed_row(tier, env, WORKSPACE)
    assert row["drift"] == "current" and row["note"] == "", row
    [path] = row["paths"]
    assert path["outcome"] in ("ok", "recovered"), path
    assert path["age_seconds"] is not None and path["age_seconds"] <= INTERVAL + SLACK

    # The secrets file gone (a host reboot clears the runtime folder): status says so;
    # the next cs:up writes it again.
    mounts = json.loads(tier.docker("inspect", "--format", "{{json .Mounts}}", first_id).stdout)
    [folder] = [m["Source"] for m in mounts if m["Destination"] == "/run/coltec/secrets"]
    (Path(folder) / "secrets.json").unlink()
    assert listed_row(tier, env, WORKSPACE)["note"] == "secrets missing: run cs:up"
    tier.cs(env, "cs:up", WORKSPACE)
    assert listed_row(tier, env, WORKSPACE)["note"] == ""

    # Rebuild: a new container, the same data and the same worker state — so the new
    # worker goes on with the pair's bisync listings instead of a first-run resync.
    log = ws_dir / ".coltec" / "state" / "worker.log"
    listings = ws_dir / ".coltec" / "state" / "bisync" / "workspace"
    assert log.read_text().count('"first_run_resync"') == 1
    before = {p.name for p in listings.iterdir()}
    tier.cs(env, "cs:up-rebuild", WORKSPACE)
    row = listed_row(tier, env, WORKSPACE)
    assert row["container_id"] != first_id and row["worker_running"] is True, row
    assert exec_text(tier, env, WORKSPACE, "cat /workspace/inside.txt") == "from-inside\n"
    wait_for(
        "the rebuilt container's worker syncs",
        lambda: (
            log.read_text().count('"event":"run_end"') >= 1
            and log.read_text().rsplit('"event":"started"', 1)[-1].count('"run_end"') >= 1
        ),
        INTERVAL + SLACK,
        diagnose,
    )
    assert log.read_text().count('"first_run_resync"') == 1, log.read_text()[-2000:]
    assert before <= {p.name for p in listings.iterdir()}

    # An edit made just before cs:down is in the bucket afterwards.
    exec_text(tier, env, WORKSPACE, "echo last-words > /workspace/last-edit.txt")
    down = tier.cs(env, "cs:down", WORKSPACE)
    assert "final sync done" in down.stdout
    assert tier.bucket_file(PREFIX, "last-edit.txt").read_text() == "last-words\n"
    assert listed_row(tier, env, WORKSPACE)["container"] == "exited"


def test_a_fresh_clone_restores_the_workspace_from_the_bucket(tier: Tier) -> None:
    alice = tier.root / "alice" / "nexus"
    bob = tier.root / "bob" / "nexus"
    bob.parent.mkdir(parents=True)
    git(bob.parent, "clone", "-q", str(alice), str(bob))
    env = tier.env(bob, tier.root / "bob" / "home")
    ws_dir = bob / "codespaces" / WORKSPACE
    tier.workspace_dirs.append(ws_dir)
    assert not (ws_dir / "inside.txt").exists()  # the nexus tracks only template files

    tier.cs(env, "cs:up", WORKSPACE)
    expected = {
        name: tier.bucket_file(PREFIX, name).read_text()
        for name in ("inside.txt", "outside.txt", "last-edit.txt")
    }
    assert expected == {
        "inside.txt": "from-inside\n",
        "outside.txt": "from-bucket\n",
        "last-edit.txt": "last-words\n",
    }
    wait_for(
        "the workspace's files come back from the bucket",
        lambda: all(
            (ws_dir / n).is_file() and (ws_dir / n).read_text() == t for n, t in expected.items()
        ),
        INTERVAL + SLACK,
        lambda: tier.cs(env, "cs:logs", WORKSPACE, "--lines", "15").stdout,
    )
    alice_dir = alice / "codespaces" / WORKSPACE
    assert {n: (alice_dir / n).read_text() for n in expected} == expected


def test_two_clones_each_act_only_on_their_own_container(tier: Tier) -> None:
    alice_env = tier.env(tier.root / "alice" / "nexus", tier.root / "alice" / "home")
    bob_env = tier.env(tier.root / "bob" / "nexus", tier.root / "bob" / "home")
    tier.cs(alice_env, "cs:up", WORKSPACE)  # bob's is up since the previous test
    alice_id = listed_row(tier, alice_env, WORKSPACE)["container_id"]
    bob_id = listed_row(tier, bob_env, WORKSPACE)["container_id"]
    assert alice_id and bob_id and alice_id != bob_id

    # .coltec/ is never synced, so only the folder the exec really reached has the file.
    exec_text(tier, alice_env, WORKSPACE, "echo alice > /workspace/.coltec/who")
    exec_text(tier, bob_env, WORKSPACE, "echo bob > /workspace/.coltec/who")
    for who in ("alice", "bob"):
        folder = tier.root / who / "nexus" / "codespaces" / WORKSPACE
        assert (folder / ".coltec" / "who").read_text() == f"{who}\n"

    tier.cs(bob_env, "cs:down", WORKSPACE)
    assert listed_row(tier, bob_env, WORKSPACE)["container"] == "exited"
    assert listed_row(tier, alice_env, WORKSPACE)["container"] == "running"
    tier.cs(alice_env, "cs:down", WORKSPACE, "--rm")
    tier.cs(bob_env, "cs:down", WORKSPACE, "--rm")
    assert listed_row(tier, alice_env, WORKSPACE)["container"] == "none"


def test_a_missing_base_image_points_at_cs_image(tier: Tier) -> None:
    nexus = make_nexus(tier.root / "carol" / "nexus")
    env = tier.env(nexus, tier.root / "carol" / "home")
    tier.cs(env, "cs:new", "e2e/no-image", "--defaults", "--data", "base_image=coltec/base:nope")
    up = tier.cs(env, "cs:up", "e2e/no-image", check=False)
    assert up.returncode == 1, up.stderr
    assert "coltec/base:nope does not exist" in up.stderr and "cs:image" in up.stderr


# -- as a plain user with another uid ---------------------------------------------------


def plain_user(engine: DockerEngine) -> pwd.struct_passwd:
    """TEST_USER (uid TEST_UID), in the group that may use the engine's socket."""
    try:
        user = pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--create-home", "--uid", str(TEST_UID), "--shell", "/bin/bash", TEST_USER],
            check=True,
            capture_output=True,
        )
        user = pwd.getpwnam(TEST_USER)
    subprocess.run(["groupadd", "-f", "docker"], check=True, capture_output=True)
    socket = Path((engine.host or "unix:///var/run/docker.sock").removeprefix("unix://"))
    os.chown(socket, 0, grp.getgrnam("docker").gr_gid)
    os.chmod(socket, 0o660)
    return user


def user_clone(user: pwd.struct_passwd) -> Path:
    """This checkout as the user's own repository (git will not read another user's).

    Its .venv and node_modules are kept between runs, so a warm run sets up nothing.
    """
    clone = Path(user.pw_dir) / "nexus"
    clone.mkdir(exist_ok=True)
    for entry in clone.iterdir():
        if entry.name not in (".venv", "node_modules"):
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        src = REPO_ROOT / name
        if src.is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, clone / name)
    subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", str(clone)], check=True)
    return clone


def test_a_plain_user_with_another_uid_gets_the_same_path(tier: Tier) -> None:
    user = plain_user(tier.engine)
    clone = user_clone(user)
    docker_gid = grp.getgrnam("docker").gr_gid
    env = {
        "HOME": user.pw_dir,
        "USER": user.pw_name,
        "LOGNAME": user.pw_name,
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "COLTEC_PYTHON": "/usr/bin/python3",  # root's python3 is not reachable for others
        "DOCKER_HOST": tier.engine.host or "unix:///var/run/docker.sock",
        **tier.secrets,
    }

    def as_user(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            list(argv),
            cwd=clone,
            env=env,
            user=user.pw_uid,
            group=user.pw_gid,
            extra_groups=[docker_gid],
            capture_output=True,
            text=True,
            timeout=1200,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        tier.record(proc)
        if check and proc.returncode != 0:
            fail_with(" ".join(argv), proc)
        return proc

    as_user("git", "init", "-q", "-b", "main")
    as_user("git", "add", "-A")
    as_user(
        "git", "-c", "user.name=e2e", "-c", "user.email=e2e@example.invalid", "commit", "-qm", "x"
    )
    ws_dir = clone / "codespaces" / USER_WORKSPACE
    tier.workspace_dirs.append(ws_dir)
    as_user("./dev", "run", "cs:new", USER_WORKSPACE, *NEW_ANSWERS, "--data", "project=userproj")
    try:
        up = as_user("./dev", "run", "cs:up", USER_WORKSPACE)
        assert "user coltec" in up.stdout, up.stdout
        uid = as_user("./dev", "run", "cs:exec", USER_WORKSPACE, "--", "id", "-u").stdout
        assert uid.strip() == str(TEST_UID)  # devcontainer remapped coltec to the caller
        listed = json.loads(as_user("./dev", "run", "cs:list", "--json").stdout)
        [row] = [r for r in listed["workspaces"] if r["workspace"] == USER_WORKSPACE]
        assert row["worker_running"] is True, row
        assert USER_WORKSPACE in tier.docker("inspect", row["container_id"]).stdout

        as_user(
            "./dev", "run", "cs:exec", USER_WORKSPACE, "--", "sh", "-c", "echo mine > inside.txt"
        )
        tier.put_in_bucket(USER_PREFIX, "outside.txt", "for-the-user\n")
        pushed = tier.bucket_file(USER_PREFIX, "inside.txt")

        def diagnose() -> str:
            return as_user("./dev", "run", "cs:logs", USER_WORKSPACE, check=False).stdout

        wait_for(
            "the user's file reaches the bucket",
            lambda: pushed.is_file() and pushed.read_text() == "mine\n",
            INTERVAL + SLACK,
            diagnose,
        )
        wait_for(
            "a file put in the bucket reaches the user's workspace",
            lambda: (
                (ws_dir / "outside.txt").is_file()
                and (ws_dir / "outside.txt").read_text() == "for-the-user\n"
            ),
            INTERVAL + SLACK,
            diagnose,
        )
        # Files written in the container stay the host user's.
        for name in ("inside.txt", "outside.txt", ".coltec/state/worker.log"):
            assert (ws_dir / name).stat().st_uid == TEST_UID, name

        as_user("./dev", "run", "cs:exec", USER_WORKSPACE, "--", "sh", "-c", "echo bye > last.txt")
        down = as_user("./dev", "run", "cs:down", USER_WORKSPACE, "--rm")
        assert "final sync done" in down.stdout
        assert tier.bucket_file(USER_PREFIX, "last.txt").read_text() == "bye\n"
    finally:
        as_user("./dev", "run", "cs:down", USER_WORKSPACE, "--rm", "--force", check=False)


# -- secrets ----------------------------------------------------------------------------


def test_no_secret_on_any_command_line_in_inspect_files_or_output(tier: Tier) -> None:
    tier.watch.stop()
    assert tier.watch.samples > 100 and tier.watch.processes_seen > 100, tier.watch
    assert tier.watch.hits == []
    values = tier.watch.secrets
    inspected = [
        tier.docker("inspect", *ids).stdout
        for ids in (
            tier.docker("ps", "-aq").stdout.split(),
            tier.docker("images", "-q").stdout.split(),
        )
        if ids
    ]
    leaked = [v for v in values for text in [*inspected, *tier.outputs] if v in text]
    assert leaked == []
    for folder in tier.workspace_dirs:
        for path in folder.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert not [v for v in values if v.encode() in data], path
