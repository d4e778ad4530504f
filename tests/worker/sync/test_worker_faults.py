"""Faults: kills, signals, stale locks, outages, refusals, a missing rclone, secrets.

Every test ends by comparing file contents on both sides: nothing may be lost.
Waits on real processes are bounded (wait_for); nothing here sleeps for scheduling.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest
from coltec_worker.sync.verdict import RunVerdict

from tests.support.s3 import S3Server
from tests.worker.helpers import (
    BASELINE,
    Remote,
    events,
    has_event,
    make_spec,
    once,
    rclone_children,
    read_tree,
    start_daemon,
    stop,
    wait_for,
    worker,
    write_tree,
)

BIG = "x" * 3_000_000  # takes seconds at the test's bandwidth limit


@pytest.fixture
def env(s3: S3Server, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **s3.env("r2"), "HOME": str(tmp_path / "home")}


def fail_fast(env: dict[str, str]) -> dict[str, str]:
    """Give up on a stopped endpoint in seconds, not after rclone's default retries.

    Low-level retries stay at 3: the test server answers an occasional 500 under
    concurrent uploads, and a run that is meant to succeed must absorb it.
    """
    return {
        **env,
        "RCLONE_RETRIES": "1",
        "RCLONE_LOW_LEVEL_RETRIES": "3",
        "RCLONE_CONTIMEOUT": "2s",
        "RCLONE_TIMEOUT": "5s",
    }


@pytest.fixture
def remote(s3: S3Server) -> Remote:
    return Remote(s3, "acme/web/demo/data")


def converged(local: Path, remote: Remote, expect: dict[str, str]) -> None:
    assert read_tree(local) == expect
    assert remote.tree() == expect


def slow(env: dict[str, str]) -> dict[str, str]:
    return {**env, "RCLONE_BWLIMIT": "300k"}


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def first_run(
    tmp_path: Path,
    env: dict[str, str],
    direction: str = "bidirectional",
    mtime: float | None = None,
) -> Path:
    config = make_spec(tmp_path, [{"name": "data", "direction": direction}])
    write_tree(config.parent.parent / "data", BASELINE, mtime=mtime)
    assert [v.status.outcome for v in once(config, env, tmp_path / "home")] == ["ok"]
    return config


def test_sigkill_of_worker_and_rclone_mid_transfer_then_next_run_converges(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    config = first_run(tmp_path, env)
    local = config.parent.parent / "data"
    write_tree(local, {"big.bin": BIG, "keep/k00.txt": "edited before the kill"})
    log = tmp_path / "killed.log"
    daemon = start_daemon(config, slow(env), log)
    children = wait_for(lambda: rclone_children(daemon.pid), 30, "rclone to start")
    time.sleep(1.0)  # let the transfer get under way
    for child in children:
        kill_group(child)
    daemon.kill()
    daemon.wait(timeout=10)
    expect = {**BASELINE, "big.bin": BIG, "keep/k00.txt": "edited before the kill"}
    verdicts = once(config, env, tmp_path / "home", log=tmp_path / "next.log")
    # a run killed mid-way may leave bisync critical: one recovery resync is fine
    assert verdicts[0].status.outcome in ("ok", "recovered"), verdicts[0].status.error
    converged(local, remote, expect)


def test_sigterm_mid_run_sends_one_sigint_and_exits_then_next_run_converges(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    config = first_run(tmp_path, env)
    local = config.parent.parent / "data"
    write_tree(local, {"big.bin": BIG})
    log = tmp_path / "term.log"
    daemon = start_daemon(config, slow(env), log)
    wait_for(lambda: rclone_children(daemon.pid), 30, "rclone to start")
    time.sleep(0.5)
    daemon.send_signal(signal.SIGTERM)
    daemon.send_signal(signal.SIGTERM)  # a second signal must not reach rclone twice
    assert daemon.wait(timeout=45) == 0
    assert has_event(log, "run_end", path="data", outcome="interrupted")
    assert has_event(log, "stopped")
    verdicts = once(config, env, tmp_path / "home")
    # a run killed mid-way may leave bisync critical: one recovery resync is fine
    assert verdicts[0].status.outcome in ("ok", "recovered"), verdicts[0].status.error
    converged(local, remote, {**BASELINE, "big.bin": BIG})


def test_a_stale_bisync_lock_is_removed_and_the_run_proceeds(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    config = first_run(tmp_path, env)
    local = config.parent.parent / "data"
    dead = subprocess.Popen(["true"])
    dead.wait()
    workdir = config.parent.parent / ".coltec" / "state" / "bisync" / "data"
    listing = next(workdir.glob("*.path1.lst")).name.removesuffix(".path1.lst")
    (workdir / f"{listing}.lck").write_text(json.dumps({"PID": str(dead.pid)}))
    write_tree(local, {"after-lock.txt": "made it"})
    log = tmp_path / "lock.log"
    verdicts = once(config, env, tmp_path / "home", log=log)
    assert [v.status.outcome for v in verdicts] == ["ok"], verdicts[0].status.error
    assert has_event(log, "stale_lock_removed", path="data")
    converged(local, remote, {**BASELINE, "after-lock.txt": "made it"})


def test_endpoint_outage_backs_off_without_resync_and_loses_nothing(
    tmp_path: Path, env: dict[str, str], s3: S3Server, remote: Remote
) -> None:
    # Whole-second mtimes: `rclone serve s3` keeps sub-second mtimes in memory only, so a
    # restarted server reports them at ms precision and bisync would see "all changed".
    # Real S3/R2 keep rclone's mtime metadata; this is an artefact of the test server.
    now = float(int(time.time()))
    config = first_run(tmp_path, env, mtime=now - 100)
    local = config.parent.parent / "data"
    log = tmp_path / "outage.log"
    w = worker(config, fail_fast(env), tmp_path / "home", log=log, backoff_base=15)
    w.schedule_jobs(delay=0)
    s3.stop()
    write_tree(local, {"during-outage.txt": "written while S3 was down"}, mtime=now)
    waits = []
    for _ in range(2):
        verdict = w.run_path("data")
        assert verdict.status.outcome == "failed" and verdict.retry == "backoff"
        waits.append((w.jobs["data"].next_run - datetime.now()).total_seconds())
    assert 13 < waits[0] <= 15 and 28 < waits[1] <= 30  # 15 s, then 30 s
    assert w.jobs["data"] is not None  # still scheduled
    s3.start()
    verdict = w.run_path("data")
    assert verdict.status.outcome == "ok" and verdict.status.consecutive_failures == 0
    assert not has_event(log, "first_run_resync") and not has_event(log, "bisync_critical")
    assert all(not e.get("resync") for e in events(log) if e["event"] == "run_start")
    converged(local, remote, {**BASELINE, "during-outage.txt": "written while S3 was down"})


@pytest.mark.parametrize("how", ["emptied", "missing"])
def test_push_from_an_empty_or_missing_source_is_refused(
    how: str, tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    config = first_run(tmp_path, env, direction="push-only")
    local = config.parent.parent / "data"
    for path in sorted(local.rglob("*"), reverse=True):
        path.unlink() if path.is_file() else path.rmdir()
    if how == "missing":
        local.rmdir()
    verdicts = once(config, env, tmp_path / "home")
    assert verdicts[0].status.outcome == "refused"
    assert "missing or empty" in (verdicts[0].status.error or "")
    assert remote.tree() == BASELINE  # nothing deleted remotely


def test_deleting_60_percent_locally_is_blocked_and_nothing_is_lost(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    config = first_run(tmp_path, env)
    local = config.parent.parent / "data"
    doomed = sorted(BASELINE)[: int(len(BASELINE) * 0.6) + 1]
    write_tree(local, dict.fromkeys(doomed))
    verdicts = once(config, env, tmp_path / "home")
    assert verdicts[0].status.outcome == "blocked"
    assert "too many deletes" in (verdicts[0].status.error or "")
    assert remote.tree() == BASELINE
    assert read_tree(local) == {k: v for k, v in BASELINE.items() if k not in doomed}


def test_rclone_missing_from_path_is_a_clear_error_and_the_loop_survives(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    config = first_run(tmp_path, env)
    local = config.parent.parent / "data"
    w = worker(config, {**env, "PATH": "/nonexistent"}, tmp_path / "home")
    w.schedule_jobs(delay=0)
    verdict: RunVerdict = w.run_path("data")
    assert verdict.status.outcome == "failed"
    assert "rclone not found on PATH" in (verdict.status.error or "")
    assert "data" in w.jobs  # rescheduled with backoff
    write_tree(local, {"later.txt": "after rclone came back"})
    assert worker(config, env, tmp_path / "home").run_path("data").status.outcome == "ok"
    converged(local, remote, {**BASELINE, "later.txt": "after rclone came back"})


def test_crypt_secrets_never_appear_in_argv_ps_logs_or_files(
    tmp_path: Path, env: dict[str, str], s3: S3Server
) -> None:
    password = "correct-horse-battery-staple-42"
    config = make_spec(
        tmp_path,
        [{"name": "data"}],
        rclone_config={"encryption": {"enabled": True, "password_env": "COLTEC_CRYPT_PASSWORD"}},
    )
    local = config.parent.parent / "data"
    write_tree(local, {**BASELINE, "big.bin": BIG[:1_000_000], "plain-name.txt": "secret contents"})
    log = tmp_path / "crypt.log"
    cenv = {**slow(env), "COLTEC_CRYPT_PASSWORD": password}
    daemon = start_daemon(config, cenv, log)
    try:
        child = wait_for(
            lambda: rclone_children(daemon.pid, "bisync"), 30, "rclone bisync to start"
        )[0]
        child_env = dict(
            kv.split("=", 1)
            for kv in Path(f"/proc/{child}/environ").read_text().split("\0")
            if "=" in kv
        )
        obscured = child_env["RCLONE_CONFIG_COLTEC_CRYPT_PASSWORD"]
        assert obscured and obscured != password
        ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
        secrets = [password, obscured, s3.secret_key]
        assert not [s for s in secrets if s in ps]
        wait_for(lambda: has_event(log, "run_end", path="data", outcome="ok"), 90, "sync")
    finally:
        stop(daemon)
    state = config.parent.parent / ".coltec" / "state"
    written = [log, log.with_suffix(".stderr"), *[p for p in state.rglob("*") if p.is_file()]]
    for path in written:
        text = path.read_text(errors="replace")
        assert not [s for s in secrets if s in text], path
    # the bucket holds ciphertext: neither the name nor the contents in the clear
    stored = [p for p in s3.bucket_dir.rglob("*") if p.is_file()]
    assert stored and not any("plain-name" in str(p) for p in stored)
    assert not any(b"secret contents" in p.read_bytes() for p in stored)
    assert read_tree(local)["plain-name.txt"] == "secret contents"


def test_a_resync_is_settled_at_once_by_an_ordinary_bisync(
    tmp_path: Path, env: dict[str, str], remote: Remote
) -> None:
    # bench/fleet.py saw an edit made during a first-run resync come back after a later
    # delete; the worker now runs one ordinary bisync right after every resync.
    config = make_spec(tmp_path, [{"name": "data"}])
    local = config.parent.parent / "data"
    write_tree(local, BASELINE)
    log = tmp_path / "first.log"
    verdicts = once(config, env, tmp_path / "home", log=log)
    assert [v.status.outcome for v in verdicts] == ["ok"]
    starts = [e["resync"] for e in events(log) if e["event"] == "run_start"]
    assert starts == [True, False]
    converged(local, remote, BASELINE)
