"""The worker keeps its promises under faults (issue 13): one scenario per fault, real
rclone against `rclone serve s3`, contents compared on both sides after each.

Disk-full and read-only cases use a small tmpfs, which needs root (CI runs as root);
elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from coltec_worker.sync.state import Layout
from coltec_worker.sync.status import collect, render_text

from tests.support.faultproxy import FaultProxy
from tests.support.s3 import S3Server
from tests.worker.helpers import (
    BASELINE,
    Remote,
    events,
    make_spec,
    rclone_children,
    read_tree,
    run_cli,
    start_daemon,
    stop,
    wait_for,
    worker,
    write_tree,
)


@pytest.fixture
def env(s3: S3Server, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **s3.env("r2"), "HOME": str(tmp_path / "home"), "COLTEC_USER_CONFIG": ""}


@pytest.fixture
def remote(s3: S3Server) -> Remote:
    return Remote(s3, "acme/web/demo/data")


def converged(local: Path, remote: Remote, expect: dict[str, str]) -> None:
    """Nothing lost: both sides hold exactly `expect`, file by file, content by content."""
    assert read_tree(local) == expect
    assert remote.tree() == expect


# -- a small filesystem for the state directory --------------------------------------


class TinyFs:
    def __init__(self, mount: Path) -> None:
        self.mount = mount
        self.filler = mount / "filler"

    def fill(self) -> None:
        with open(self.filler, "ab") as fh, contextlib.suppress(OSError):
            while True:
                fh.write(b"\0" * 65536)
                fh.flush()

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self, on: bool = True) -> None:
        opts = "remount,ro" if on else "remount,rw"
        subprocess.run(["mount", "-o", opts, str(self.mount)], check=True)


@pytest.fixture
def tiny_fs(tmp_path: Path) -> Iterator[TinyFs]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs for the disk-full cases needs root")
    mount = tmp_path / "tinyfs"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield TinyFs(mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def setup_path(tmp_path: Path, env: dict[str, str], state: Path, **item: object) -> Path:
    config = make_spec(tmp_path, [{"name": "data", **item}])
    write_tree(config.parent.parent / "data", BASELINE)
    w = worker(config, env, tmp_path / "home", state=state)
    assert [v.status.outcome for v in w.run_all()] == ["ok"]
    return config


# -- 1. a full disk -------------------------------------------------------------------


def test_a_full_state_directory_fails_the_run_keeps_the_schedule_and_recovers(
    tmp_path: Path, env: dict[str, str], remote: Remote, tiny_fs: TinyFs
) -> None:
    state = tiny_fs.mount / "state"
    config = setup_path(tmp_path, env, state)
    local = config.parent.parent / "data"
    log = tmp_path / "full.log"
    w = worker(config, env, tmp_path / "home", log=log, state=state)
    w.schedule_jobs(delay=0)
    tiny_fs.fill()
    write_tree(local, {"during-full-disk.txt": "written while the state dir was full"})
    verdict = w.run_path("data")  # must not raise
    assert verdict.status.outcome == "failed" and verdict.retry == "backoff"
    assert "full" in (verdict.status.error or "")
    assert "data" in w.jobs  # the schedule goes on
    assert any(e["event"] == "state_unwritable" for e in events(log))
    shown = collect(Layout(state))
    assert shown["state_dir_problem"] == "full"
    assert "state directory full" in render_text(shown)
    tiny_fs.free()
    verdict = w.run_path("data")
    assert verdict.status.outcome == "ok", verdict.status.error
    expect = {**BASELINE, "during-full-disk.txt": "written while the state dir was full"}
    converged(local, remote, expect)


def test_the_daemon_starts_and_runs_on_a_full_disk_then_recovers(
    tmp_path: Path, env: dict[str, str], remote: Remote, tiny_fs: TinyFs
) -> None:
    state = tiny_fs.mount / "state"
    config = setup_path(tmp_path, env, state)
    local = config.parent.parent / "data"
    write_tree(local, {"new.txt": "new"})
    tiny_fs.fill()
    log = tmp_path / "daemon.log"
    daemon = start_daemon(
        config, {**env, "COLTEC_BACKOFF_BASE": "1"}, log, "--state-dir", str(state)
    )
    try:
        wait_for(lambda: any(e["event"] == "state_unwritable" for e in events(log)), 60, "refusal")
        assert daemon.poll() is None, "the daemon survives a full state directory"
        tiny_fs.free()
        wait_for(
            lambda: any(e["event"] == "run_end" and e["outcome"] == "ok" for e in events(log)),
            60,
            "a run after space returned",
        )
    finally:
        assert stop(daemon) == 0
    assert "Traceback" not in log.with_suffix(".stderr").read_text()
    converged(local, remote, {**BASELINE, "new.txt": "new"})


def test_once_on_a_full_disk_is_one_line_and_exit_1(
    tmp_path: Path, env: dict[str, str], remote: Remote, tiny_fs: TinyFs
) -> None:
    state = tiny_fs.mount / "state"
    config = setup_path(tmp_path, env, state)
    tiny_fs.fill()
    result = run_cli("--config", str(config), "--once", "--state-dir", str(state), env=env)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "state_unwritable" in result.stderr
    converged(config.parent.parent / "data", remote, BASELINE)


def test_a_read_only_state_directory_is_one_line(
    tmp_path: Path, env: dict[str, str], remote: Remote, tiny_fs: TinyFs
) -> None:
    state = tiny_fs.mount / "state"
    config = setup_path(tmp_path, env, state)
    tiny_fs.read_only()
    try:
        result = run_cli("--config", str(config), "--once", "--state-dir", str(state), env=env)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert "read-only" in result.stderr
        fresh = run_cli(
            "--config", str(config), "--once", "--state-dir", str(tiny_fs.mount / "new"), env=env
        )
        assert fresh.returncode == 1 and "Traceback" not in fresh.stderr
        lines = [line for line in fresh.stderr.splitlines() if line.startswith("{")]
        assert json.loads(lines[-1])["event"] == "state_unwritable"
        status = run_cli("status", "--config", str(config), "--state-dir", str(state), env=env)
        assert status.returncode == 0 and "state directory read-only" in status.stdout
    finally:
        tiny_fs.read_only(False)
    converged(config.parent.parent / "data", remote, BASELINE)


# -- 5. one line instead of a traceback ------------------------------------------------


def test_an_unwritable_log_file_is_one_line_exit_2(tmp_path: Path, env: dict[str, str]) -> None:
    config = make_spec(tmp_path, [{"name": "data"}])
    (tmp_path / "a-dir").mkdir()
    result = run_cli(
        "--config", str(config), "--once", "--log-file", str(tmp_path / "a-dir"), env=env
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cannot open the log file" in result.stderr and "hint:" in result.stderr


@pytest.mark.parametrize(
    "content", ["{not json", "[1, 2]", '{"outcome": 5}', '{"backups": "x", "stats": []}', ""]
)
def test_status_tolerates_and_reports_a_corrupt_status_file(
    content: str, tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    state = tmp_path / "state"
    config = setup_path(tmp_path, env, state)
    (state / "status" / "data.json").write_text(content)
    for args in ([], ["--json"]):
        result = run_cli(
            "status", "--config", str(config), "--state-dir", str(state), *args, env=env
        )
        assert result.returncode == 0 and "Traceback" not in result.stderr
        assert "corrupt" in result.stdout
    w = worker(config, env, tmp_path / "home", state=state)
    assert [v.status.outcome for v in w.run_all()] == ["ok"]  # the next run rewrites it
    converged(config.parent.parent / "data", remote, BASELINE)


# -- 2. the empty-source guard sees what rclone sees ---------------------------------

DEEP = {"a/b/c/d/e/deep1.txt": "deep 1\n", "a/b/c/d/e/f/deep2.txt": "deep 2\n"}


def _emptied(local: Path) -> None:
    for path in sorted(local.rglob("*"), reverse=True):
        path.unlink() if path.is_file() or path.is_symlink() else path.rmdir()


@pytest.mark.parametrize("leftover", ["nothing", "excluded-only", "symlinks-only"])
def test_push_only_refuses_a_source_rclone_sees_as_empty_over_deep_remote_files(
    leftover: str, tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    state = tmp_path / "state"
    config = make_spec(tmp_path, [{"name": "data", "direction": "push-only", "exclude": ["*.tmp"]}])
    local = config.parent.parent / "data"
    write_tree(local, DEEP)
    assert [
        v.status.outcome for v in worker(config, env, tmp_path / "home", state=state).run_all()
    ] == ["ok"]
    _emptied(local)
    if leftover == "excluded-only":
        write_tree(local, {"scratch.tmp": "excluded", "x/y/z/more.tmp": "excluded"})
    elif leftover == "symlinks-only":
        (tmp_path / "elsewhere.txt").write_text("not synced: rclone skips symlinks")
        (local / "link.txt").symlink_to(tmp_path / "elsewhere.txt")
    verdicts = worker(config, env, tmp_path / "home", state=state).run_all()
    assert verdicts[0].status.outcome == "refused", verdicts[0].status.error
    assert remote.tree() == DEEP  # nothing deleted, nothing moved to the backups
    assert not remote.backups()


def test_pull_only_with_only_deep_remote_files_runs(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    remote.write(DEEP, tmp_path)
    config = make_spec(tmp_path, [{"name": "data", "direction": "pull-only"}])
    local = config.parent.parent / "data"
    verdicts = worker(config, env, tmp_path / "home", state=tmp_path / "state").run_all()
    assert verdicts[0].status.outcome == "ok", verdicts[0].status.error
    converged(local, remote, DEEP)


# -- 8. a sync path that is a file ---------------------------------------------------


def test_a_sync_path_that_is_a_file_says_so(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    state = tmp_path / "state"
    config = make_spec(tmp_path, [{"name": "data"}])
    local = config.parent.parent / "data"
    local.rmdir()
    local.write_text("I am a file\n")
    log = tmp_path / "file.log"
    verdicts = worker(config, env, tmp_path / "home", log=log, state=state).run_all()
    status = verdicts[0].status
    assert status.outcome == "failed"
    assert status.error == f"the local path {local} is a file, not a folder: rclone cannot sync it"
    assert not any(e["event"] == "run_start" for e in events(log))  # no rclone, no usage text
    assert local.read_text() == "I am a file\n" and remote.tree() == {}


# -- 6. an orphaned rclone after kill -9 ----------------------------------------------

BIG = (
    "x" * 3_000_000
)  # a minute of transfer at the killed daemon's 50k limit: it cannot finish first


def test_the_rclone_of_a_worker_killed_with_9_is_stopped_before_the_next_run(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    state = tmp_path / "state"
    config = setup_path(tmp_path, env, state)
    local = config.parent.parent / "data"
    write_tree(local, {"big.bin": BIG})
    log = tmp_path / "killed.log"
    daemon = start_daemon(config, {**env, "RCLONE_BWLIMIT": "50k"}, log, "--state-dir", str(state))
    orphans = wait_for(lambda: rclone_children(daemon.pid, "bisync"), 30, "bisync to start")
    daemon.kill()  # what the OOM killer does: no handler runs, rclone stays
    daemon.wait(10)
    assert all(Path(f"/proc/{pid}").exists() for pid in orphans), "rclone outlived its worker"
    next_log = tmp_path / "next.log"
    verdicts = worker(config, env, tmp_path / "home", log=next_log, state=state).run_all()
    assert verdicts[0].status.outcome in ("ok", "recovered"), verdicts[0].status.error
    assert any(e["event"] == "orphan_stopped" for e in events(next_log))
    for pid in orphans:  # stopped (a zombie until its dead parent's reaper collects it)
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    converged(local, remote, {**BASELINE, "big.bin": BIG})


# -- 7. encryption: the pair is the bucket and the password --------------------------

CRYPT = {"encryption": {"enabled": True, "password_env": "COLTEC_CRYPT_PASSWORD"}}


def crypt_tree(s3: S3Server, bucket: str, password: str, tmp: Path) -> dict[str, str]:
    """The decrypted contents of acme/web/demo/data in `bucket`, read with `password`."""
    base = {**os.environ, **s3.env("r2"), "RCLONE_CONFIG": "/dev/null"}
    obscured = subprocess.run(
        ["rclone", "obscure", "-"],
        input=password,
        env=base,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    env = {
        **base,
        "RCLONE_CONFIG_PLAIN_TYPE": "crypt",
        "RCLONE_CONFIG_PLAIN_REMOTE": f"r2:{bucket}",
        "RCLONE_CONFIG_PLAIN_PASSWORD": obscured,
    }
    out = tmp / f"decrypted-{bucket}"
    subprocess.run(
        ["rclone", "copy", "plain:acme/web/demo/data", str(out)],
        env=env,
        check=True,
        capture_output=True,
    )
    return read_tree(out)


def stored_objects(s3: S3Server, bucket: str) -> dict[str, bytes]:
    root = s3.root / bucket
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def encrypted_first_run(tmp_path: Path, env: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """An encrypted path after its first run with the right password: (config, env)."""
    config = make_spec(tmp_path, [{"name": "data"}], rclone_config=CRYPT)
    write_tree(config.parent.parent / "data", BASELINE)
    right = {**env, "COLTEC_CRYPT_PASSWORD": "the-right-password-1"}
    first = worker(config, right, tmp_path / "home", state=tmp_path / "state").run_all()
    assert [v.status.outcome for v in first] == ["ok"]
    return config, right


def test_a_wrong_crypt_password_is_refused_and_nothing_is_uploaded(
    tmp_path: Path, env: dict[str, str], s3: S3Server
) -> None:
    state = tmp_path / "state"
    config, right = encrypted_first_run(tmp_path, env)
    local = config.parent.parent / "data"
    before = stored_objects(s3, s3.bucket)
    write_tree(local, {"new.txt": "must not be uploaded under another password"})
    wrong = {**env, "COLTEC_CRYPT_PASSWORD": "a-wrong-password-2"}
    log = tmp_path / "wrong.log"
    verdict = worker(config, wrong, tmp_path / "home", log=log, state=state).run_all()[0]
    assert verdict.status.outcome == "refused"
    assert "does not decrypt" in (verdict.status.error or "")
    assert not any(e["event"] == "run_start" for e in events(log))
    assert stored_objects(s3, s3.bucket) == before  # not one object added or changed
    # with the right password again, everything syncs: nothing lost
    again = worker(config, right, tmp_path / "home", state=state).run_all()[0]
    assert again.status.outcome == "ok", again.status.error
    expect = {**BASELINE, "new.txt": "must not be uploaded under another password"}
    assert read_tree(local) == expect
    assert crypt_tree(s3, s3.bucket, "the-right-password-1", tmp_path) == expect


def test_another_bucket_under_encryption_is_a_new_pair(
    tmp_path: Path, env: dict[str, str], s3: S3Server
) -> None:
    state = tmp_path / "state"
    config, cenv = encrypted_first_run(tmp_path, env)
    local = config.parent.parent / "data"
    (s3.root / "other-bucket").mkdir()
    moved = {**cenv, "RCLONE_BUCKET": "other-bucket"}
    log = tmp_path / "moved.log"
    verdict = worker(config, moved, tmp_path / "home", log=log, state=state).run_all()[0]
    assert verdict.status.outcome == "ok", verdict.status.error
    assert any(e["event"] == "first_run_resync" for e in events(log))  # a new pair
    assert crypt_tree(s3, "other-bucket", "the-right-password-1", tmp_path) == BASELINE
    assert crypt_tree(s3, s3.bucket, "the-right-password-1", tmp_path) == BASELINE
    assert read_tree(local) == BASELINE


# -- the endpoint: 5xx, dropped connections, wrong credentials ------------------------

FAIL_FAST = {
    "RCLONE_RETRIES": "1",
    "RCLONE_LOW_LEVEL_RETRIES": "2",
    "RCLONE_CONTIMEOUT": "2s",
    "RCLONE_TIMEOUT": "5s",
}


@pytest.fixture
def proxy(s3: S3Server) -> Iterator[FaultProxy]:
    p = FaultProxy(s3.port)
    p.start()
    yield p
    p.stop()


@pytest.mark.parametrize("fault", ["5xx", "drop"])
def test_an_endpoint_answering_5xx_or_dropping_connections_backs_off_and_recovers(
    fault: str, tmp_path: Path, env: dict[str, str], remote: Remote, proxy: FaultProxy
) -> None:
    state = tmp_path / "state"
    penv = {**env, **FAIL_FAST, "RCLONE_CONFIG_R2_ENDPOINT": proxy.endpoint}
    config = setup_path(tmp_path, penv, state)
    local = config.parent.parent / "data"
    log = tmp_path / f"{fault}.log"
    w = worker(config, penv, tmp_path / "home", log=log, state=state, backoff_base=15)
    w.schedule_jobs(delay=0)
    proxy.mode = fault
    write_tree(local, {"during-fault.txt": "written while the endpoint misbehaved"})
    before = remote.tree()
    waits = []
    for _ in range(2):
        verdict = w.run_path("data")
        assert verdict.status.outcome == "failed" and verdict.retry == "backoff"
        waits.append((w.jobs["data"].next_run - datetime.now()).total_seconds())
    assert 13 < waits[0] <= 15 and 28 < waits[1] <= 30  # backoff: 15 s, then 30 s
    assert remote.tree() == before == BASELINE  # nothing changed on the far side
    assert not any(e.get("resync") for e in events(log) if e["event"] == "run_start")
    proxy.mode = "pass"
    verdict = w.run_path("data")
    assert verdict.status.outcome == "ok", verdict.status.error
    assert verdict.status.consecutive_failures == 0
    converged(
        local, remote, {**BASELINE, "during-fault.txt": "written while the endpoint misbehaved"}
    )


def test_wrong_credentials_fail_clearly_with_backoff_not_a_hot_loop(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    state = tmp_path / "state"
    config = setup_path(tmp_path, env, state)
    local = config.parent.parent / "data"
    bad = {**env, **FAIL_FAST, "RCLONE_CONFIG_R2_SECRET_ACCESS_KEY": "not-the-secret-key"}
    w = worker(config, bad, tmp_path / "home", log=tmp_path / "creds.log", state=state)
    w.schedule_jobs(delay=0)
    write_tree(local, {"while-denied.txt": "kept locally"})
    waits = []
    for _ in range(3):
        verdict = w.run_path("data")
        assert verdict.status.outcome == "failed" and verdict.retry == "backoff"
        waits.append((w.jobs["data"].next_run - datetime.now()).total_seconds())
    assert "credentials" in (verdict.status.error or ""), verdict.status.error
    assert "not-the-secret-key" not in (verdict.status.error or "")
    assert waits[0] > 13 and waits[1] > waits[0] and waits[2] > waits[1]  # 15, 30, 60 s
    assert remote.tree() == BASELINE
    fixed = worker(config, env, tmp_path / "home", state=state).run_all()[0]
    assert fixed.status.outcome == "ok", fixed.status.error
    converged(local, remote, {**BASELINE, "while-denied.txt": "kept locally"})


# -- 4. a file rclone cannot transfer never halts its path ---------------------------


@pytest.fixture
def immutable() -> Iterator[list[Path]]:
    """Files made immutable (chattr +i: even root cannot replace them) during a test."""
    made: list[Path] = []
    yield made
    for path in made:
        subprocess.run(["chattr", "-i", str(path)], capture_output=True, check=False)


def _chattr(path: Path, flag: str, made: list[Path]) -> None:
    if os.geteuid() != 0:
        pytest.skip("chattr +i needs root")
    done = subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"this filesystem has no immutable flag: {done.stderr.strip()}")
    made.append(path)


def test_a_file_rclone_cannot_replace_is_set_aside_and_the_path_keeps_syncing(
    tmp_path: Path, env: dict[str, str], remote: Remote, immutable: list[Path]
) -> None:
    state = tmp_path / "state"
    config = make_spec(tmp_path, [{"name": "data"}])
    local = config.parent.parent / "data"
    write_tree(local, {**BASELINE, "stuck.txt": "v1 everywhere\n"})
    log = tmp_path / "stuck.log"
    w = worker(config, env, tmp_path / "home", log=log, state=state)
    w.schedule_jobs(delay=0)
    assert w.run_path("data").status.outcome == "ok"
    # the remote gets a newer stuck.txt, which bisync cannot put in place locally
    remote.write({"stuck.txt": "v2 from the remote\n", "other.txt": "from the remote\n"}, tmp_path)
    _chattr(local / "stuck.txt", "+i", immutable)
    write_tree(local, {"local-new.txt": "from this side\n"})
    verdict = w.run_path("data")
    assert verdict.status.outcome in ("ok", "recovered"), verdict.status.error
    assert verdict.retry != "halt" and "data" in w.jobs
    assert verdict.status.skipped == ["stuck.txt"]
    assert any(e["event"] == "files_skipped" and e["files"] == ["stuck.txt"] for e in events(log))
    text = render_text(collect(Layout(state)))
    assert "skipped (rclone cannot transfer): 'stuck.txt'" in text
    # everything else went both ways, and keeps going
    assert read_tree(local)["other.txt"] == "from the remote\n"
    assert remote.tree()["local-new.txt"] == "from this side\n"
    write_tree(local, {"later.txt": "still syncing\n"})
    verdict = w.run_path("data")
    assert verdict.status.outcome == "ok" and remote.tree()["later.txt"] == "still syncing\n"
    assert read_tree(local)["stuck.txt"] == "v1 everywhere\n"  # left where it was
    # fixed by hand (the flag removed): released, and both versions end up on both sides
    _chattr(local / "stuck.txt", "-i", immutable)
    verdict = w.run_path("data")
    assert verdict.status.outcome in ("ok", "recovered"), verdict.status.error
    assert verdict.status.skipped == []
    assert any(e["event"] == "files_released" for e in events(log))
    both = read_tree(local)
    assert both == remote.tree()  # nothing lost: the same files, the same contents
    assert {"v1 everywhere\n", "v2 from the remote\n"} <= set(both.values())
    assert {k: v for k, v in both.items() if not k.startswith("stuck.txt")} == {
        **BASELINE,
        "other.txt": "from the remote\n",
        "local-new.txt": "from this side\n",
        "later.txt": "still syncing\n",
    }


# -- what already held, kept in the matrix ----------------------------------------------


def test_a_wiped_state_directory_resyncs_and_loses_no_edit(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    state = tmp_path / "state"
    config = setup_path(tmp_path, env, state)
    local = config.parent.parent / "data"
    subprocess.run(["rm", "-rf", str(state)], check=True)
    write_tree(local, {"keep/k00.txt": "edited here after the wipe"})
    remote.write({"keep/k01.txt": "edited there after the wipe"}, tmp_path)
    log = tmp_path / "wiped.log"
    verdict = worker(config, env, tmp_path / "home", log=log, state=state).run_all()[0]
    assert verdict.status.outcome == "ok", verdict.status.error
    assert any(e["event"] == "first_run_resync" for e in events(log))
    expect = {
        **BASELINE,
        "keep/k00.txt": "edited here after the wipe",
        "keep/k01.txt": "edited there after the wipe",
    }
    converged(local, remote, expect)


def test_clock_skew_a_future_mtime_wins_and_the_other_version_is_kept(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    state = tmp_path / "state"
    config = setup_path(tmp_path, env, state)
    local = config.parent.parent / "data"
    future = time.time() + 3600  # this machine's clock an hour ahead
    write_tree(local, {"keep/k02.txt": "local, stamped an hour ahead"}, mtime=future)
    remote.write({"keep/k02.txt": "remote, stamped now"}, tmp_path)
    verdict = worker(config, env, tmp_path / "home", state=state).run_all()[0]
    assert verdict.status.outcome == "ok", verdict.status.error
    both = read_tree(local)
    assert both == remote.tree()
    assert both["keep/k02.txt"] == "local, stamped an hour ahead"
    assert (
        "remote, stamped now" in both.values()
        or "remote, stamped now" in {**remote.backups(), **local_backups_of(state)}.values()
    )


def local_backups_of(state: Path) -> dict[str, str]:
    return read_tree(state / "backups", skip=())


def test_the_endpoint_stopped_mid_run_and_restarted_loses_nothing(
    tmp_path: Path, env: dict[str, str], s3: S3Server, remote: Remote
) -> None:
    # whole-second mtimes: the test server keeps sub-second ones in memory only
    # (tests/support/s3.py)
    now = float(int(time.time()))
    state = tmp_path / "state"
    config = make_spec(tmp_path, [{"name": "data"}])
    local = config.parent.parent / "data"
    write_tree(local, BASELINE, mtime=now - 100)
    assert worker(config, env, tmp_path / "home", state=state).run_all()[0].status.outcome == "ok"
    write_tree(local, {"big.bin": BIG}, mtime=now - 50)
    log = tmp_path / "outage.log"
    slow_env = {**env, **FAIL_FAST, "RCLONE_BWLIMIT": "300k", "COLTEC_BACKOFF_BASE": "1"}
    daemon = start_daemon(config, slow_env, log, "--state-dir", str(state))
    try:
        wait_for(lambda: rclone_children(daemon.pid, "bisync"), 30, "bisync to start")
        time.sleep(0.5)
        s3.stop()  # mid-transfer
        wait_for(
            lambda: any(e["event"] == "run_end" and e["outcome"] != "ok" for e in events(log)),
            60,
            "the run to fail",
        )
        s3.start()
        wait_for(
            lambda: any(
                e["event"] == "run_end" and e["outcome"] in ("ok", "recovered") for e in events(log)
            ),
            120,
            "a run after the restart",
        )
    finally:
        assert stop(daemon) == 0
    converged(local, remote, {**BASELINE, "big.bin": BIG})
