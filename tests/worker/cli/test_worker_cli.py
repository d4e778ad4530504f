"""The command line and the daemon as a process: exit codes, status, flush, signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.closedpipe import QUIET_EXIT_1, closed_pipe_run
from tests.support.s3 import S3Server
from tests.worker.helpers import (
    BASELINE,
    Remote,
    has_event,
    make_spec,
    read_tree,
    run_cli,
    start_daemon,
    stop,
    wait_for,
    write_tree,
)


@pytest.fixture
def env(s3: S3Server, tmp_path: Path) -> dict[str, str]:
    return {**os.environ, **s3.env("r2"), "HOME": str(tmp_path / "home"), "COLTEC_USER_CONFIG": ""}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    config = make_spec(tmp_path, [{"name": "data"}, {"name": "notes", "priority": 5}])
    for name in ("data", "notes"):
        write_tree(config.parent.parent / name, BASELINE)
    return config


def state(config: Path) -> Path:
    return config.parent.parent / ".coltec" / "state"


def test_version_and_usage_errors(env: dict[str, str], config: Path) -> None:
    assert run_cli("--version", env=env).stdout.startswith("coltec-worker ")
    assert run_cli("--no-such-flag", env=env).returncode == 2
    bad = run_cli("--config", str(config), "--once", "--only", "nope", env=env)
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_validate_only_exit_codes(env: dict[str, str], config: Path, tmp_path: Path) -> None:
    assert run_cli("--config", str(config), "--validate-only", env=env).returncode == 0
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: demo\nmetadata: {org: acme, project: web}\nbogus: 1\n")
    result = run_cli("--config", str(broken), "--validate-only", env=env)
    assert result.returncode == 1 and "bogus" in result.stdout
    assert (
        run_cli("--config", str(tmp_path / "missing.yaml"), "--validate-only", env=env).returncode
        == 2
    )


def test_invalid_configuration_exits_2_before_any_rclone(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = make_spec(tmp_path, [{"name": "data", "remote_path": "../../etc"}])
    result = subprocess.run(
        [sys.executable, "-m", "coltec_worker.cli.main", "--config", str(config), "--once"],
        env={**env, "PATH": "/nonexistent"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid_configuration" in result.stderr and "not found" not in result.stderr
    assert not (state(config) / "logs").exists()  # no rclone ever started


def test_once_then_status_json_shape(env: dict[str, str], config: Path, s3: S3Server) -> None:
    result = run_cli("--config", str(config), "--once", env=env)
    assert result.returncode == 0, result.stderr
    assert read_tree(Remote(s3, "acme/web/demo/notes").dir) == BASELINE
    data = json.loads(run_cli("status", "--config", str(config), "--json", env=env).stdout)
    assert data["running"] is False and data["pid"] is None
    names = [p["name"] for p in data["paths"]]
    assert names == ["data", "notes"]
    for p in data["paths"]:
        assert {
            "name",
            "last_start",
            "last_end",
            "outcome",
            "exit_code",
            "next_run",
            "consecutive_failures",
            "backups",
        } <= set(p)
        assert p["outcome"] == "ok" and p["exit_code"] == 0 and p["consecutive_failures"] == 0
    text = run_cli("status", "--config", str(config), env=env).stdout
    assert "not running" in text and "notes" in text


def test_once_exits_1_when_a_sync_fails(env: dict[str, str], tmp_path: Path) -> None:
    config = make_spec(tmp_path, [{"name": "data", "direction": "pull-only"}])
    write_tree(config.parent.parent / "data", {"precious.txt": "keep me"})
    # the remote side is empty while local has files: refused, nothing deleted
    result = run_cli("--config", str(config), "--once", env=env)
    assert result.returncode == 1
    assert read_tree(config.parent.parent / "data") == {"precious.txt": "keep me"}


def test_dry_run_prints_plans_and_runs_nothing(
    env: dict[str, str], config: Path, s3: S3Server
) -> None:
    result = run_cli("--config", str(config), "--dry-run", env=env)
    assert result.returncode == 0
    plans = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["path"] for p in plans] == ["data", "notes"]  # priority 2 before 5
    assert all(p["argv"][1] == "bisync" and p["resync"] for p in plans)
    assert read_tree(s3.bucket_dir) == {}


def test_daemon_imports_only_stdlib_pyyaml_and_schedule(env: dict[str, str], config: Path) -> None:
    # What the interpreter loaded before our import (a distribution's sitecustomize,
    # .pth hooks) is the interpreter's, not the daemon's: only what main() adds counts.
    probe = (
        "import json, sys\n"
        "before = {m.split('.')[0] for m in sys.modules}\n"
        "from coltec_worker.cli.main import main\n"
        f"rc = main(['--config', {str(config)!r}, '--once'])\n"
        "third = sorted({m.split('.')[0] for m in sys.modules} - before"
        " - set(sys.stdlib_module_names)"
        " - {'coltec_worker', 'yaml', '_yaml', 'schedule', '__main__'})\n"
        # pyyaml's C extension is built with Cython; setuptools' .pth adds _distutils_hack
        "third = [m for m in third if 'cython' not in m and m != '_distutils_hack']\n"
        "print(json.dumps({'rc': rc, 'third_party': third}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {"rc": 0, "third_party": []}  # no jsonschema, rich, referencing...


# What the idle daemon holds of the worker, exactly: a module it loads stays in memory for
# as long as it runs (bench/worker.py measures the RSS), so adding one is a decision. The
# declaration side (spec records, fields and the schema, the rules, the pipeline) runs in
# the compile child only: remote_env takes bucket_problem from remote.py, plan.py
# rclone_flags from operation.py, compiled.py writes the schema's defaults out.
DAEMON_MODULES = [
    "coltec_worker",
    "coltec_worker.cli",
    "coltec_worker.cli.args",
    "coltec_worker.cli.daemon",
    "coltec_worker.cli.main",
    "coltec_worker.cli.values",
    "coltec_worker.declaration",
    "coltec_worker.declaration.compiled",
    "coltec_worker.declaration.environ",
    "coltec_worker.declaration.operation",
    "coltec_worker.declaration.remote",
    "coltec_worker.declaration.secretfile",
    "coltec_worker.declaration.statedir",
    "coltec_worker.declaration.variables",
    "coltec_worker.errors",
    "coltec_worker.log",
    "coltec_worker.record",
    "coltec_worker.sync",
    "coltec_worker.sync.compile_child",
    "coltec_worker.sync.configure",
    "coltec_worker.sync.guards",
    "coltec_worker.sync.job",
    "coltec_worker.sync.loop",
    "coltec_worker.sync.orphans",
    "coltec_worker.sync.pidfile",
    "coltec_worker.sync.plan",
    "coltec_worker.sync.quarantine",
    "coltec_worker.sync.rclone_log",
    "coltec_worker.sync.recovery",
    "coltec_worker.sync.remote_env",
    "coltec_worker.sync.runner",
    "coltec_worker.sync.scheduling",
    "coltec_worker.sync.signals",
    "coltec_worker.sync.state",
    "coltec_worker.sync.status",
    "coltec_worker.sync.verdict",
]
# Standard modules the idle daemon does without (unicodedata came with the rules).
DAEMON_NEVER_LOADS = ["argparse", "dataclasses", "inspect", "pathlib", "unicodedata", "yaml"]


def test_the_idle_daemon_loads_only_its_own_modules(
    env: dict[str, str], config: Path, tmp_path: Path
) -> None:
    """The running daemon, after its first pass, asked for its sys.modules (SIGUSR2, a
    handler the probe installs before main(): the daemon leaves that signal alone)."""
    log, dump = tmp_path / "worker.log", tmp_path / "modules.json"
    probe = (
        "import json, signal, sys\n"
        "def dump(*_):\n"
        f"    with open({str(dump)!r}, 'w') as fh: json.dump(sorted(sys.modules), fh)\n"
        "signal.signal(signal.SIGUSR2, dump)\n"
        "from coltec_worker.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    argv = ["--config", str(config), "--start-delay", "0", "--log-file", str(log)]
    daemon = subprocess.Popen(
        [sys.executable, "-c", probe, *argv],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        for name in ("data", "notes"):
            wait_for(lambda n=name: has_event(log, "run_end", path=n, outcome="ok"), 60, name)
        daemon.send_signal(signal.SIGUSR2)
        wait_for(lambda: dump.exists() and dump.read_text().endswith("]"), 30, "module dump")
    finally:
        assert stop(daemon) == 0
    loaded = json.loads(dump.read_text())
    assert [m for m in loaded if m.startswith("coltec_worker")] == DAEMON_MODULES
    assert [m for m in DAEMON_NEVER_LOADS if m in loaded] == []


def test_one_daemon_per_state_dir_flush_and_stop(
    env: dict[str, str], config: Path, s3: S3Server, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    daemon = start_daemon(config, env, log)
    try:
        wait_for(lambda: has_event(log, "run_end", path="data", outcome="ok"), 60, "first pass")
        pidfile = state(config) / "worker.pid"
        assert int(pidfile.read_text()) == daemon.pid
        # a restart never starts a second copy
        second = run_cli("--config", str(config), "--start-delay", "0", env=env, timeout=30)
        assert second.returncode == 0 and "already_running" in second.stderr
        assert run_cli("--config", str(config), "--once", env=env).returncode == 2
        status = json.loads(run_cli("status", "--config", str(config), "--json", env=env).stdout)
        assert status["running"] is True and status["pid"] == daemon.pid
        # flush: the change is in the bucket when flush returns 0
        write_tree(config.parent.parent / "data", {"late.txt": "written just before down"})
        flushed = run_cli("flush", "--config", str(config), "--timeout", "60", "--stop", env=env)
        assert flushed.returncode == 0, flushed.stderr
        assert (
            Remote(s3, "acme/web/demo/data").dir / "late.txt"
        ).read_text() == "written just before down"
        assert daemon.wait(timeout=30) == 0
    finally:
        stop(daemon)
    # without a daemon, flush runs one pass itself
    assert run_cli("flush", "--config", str(config), env=env).returncode == 0


def test_sighup_reloads_and_keeps_the_old_config_on_error(
    env: dict[str, str], config: Path, tmp_path: Path
) -> None:
    log = tmp_path / "worker.log"
    daemon = start_daemon(config, env, log)
    try:
        wait_for(lambda: has_event(log, "started"), 30, "start")
        good = config.read_text()
        config.write_text("name: [unclosed\n")
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: has_event(log, "reload_failed"), 30, "reload_failed")
        config.write_text(good.replace("name: notes", "name: notes2").replace("/notes", "/notes2"))
        (config.parent.parent / "notes2").mkdir()
        daemon.send_signal(signal.SIGHUP)
        wait_for(lambda: has_event(log, "reloaded", paths=["data", "notes2"]), 30, "reloaded")
        daemon.send_signal(signal.SIGUSR1)  # run every path now
        wait_for(lambda: has_event(log, "run_end", path="notes2", outcome="ok"), 60, "usr1")
        assert daemon.poll() is None
    finally:
        assert stop(daemon) == 0


def test_builtin_local_remote_works_out_of_the_box(tmp_path: Path) -> None:
    """No remote configured: the first run creates the local remote's folder and syncs."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RCLONE_CONFIG_") and k not in ("RCLONE_REMOTE_NAME", "RCLONE_BUCKET")
    }
    env.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME="", COLTEC_USER_CONFIG="")
    config = make_spec(tmp_path, [{"name": "data"}])
    write_tree(config.parent.parent / "data", BASELINE)
    result = run_cli("--config", str(config), "--once", "--start-delay", "0", env=env)
    assert result.returncode == 0, result.stderr
    assert '"event":"builtin_remote"' in result.stderr.replace(" ", "")
    remote = tmp_path / "home" / ".local" / "share" / "coltec" / "remote" / "acme" / "web" / "demo"
    assert read_tree(remote / "data") == BASELINE
    # and back: a file added on the remote side arrives locally on the next run
    write_tree(remote / "data", {"from-remote.txt": "hello\n"})
    assert run_cli("--config", str(config), "--once", env=env).returncode == 0
    assert read_tree(config.parent.parent / "data") == {**BASELINE, "from-remote.txt": "hello\n"}


def test_credentials_come_from_the_secrets_file_and_a_missing_one_touches_nothing(
    s3: S3Server, config: Path, tmp_path: Path
) -> None:
    """cs:up's delivery: the remote's credentials only in COLTEC_SECRETS_FILE."""
    from coltec_worker.declaration import secretfile

    secrets_file = tmp_path / "run" / "secrets.json"
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "COLTEC_USER_CONFIG": "",
        secretfile.ENV_VAR: str(secrets_file),
    }
    gone = run_cli("--config", str(config), "--once", env=env)
    assert gone.returncode == 1 and "secrets missing: run cs:up" in gone.stderr
    assert read_tree(s3.bucket_dir) == {}
    status = json.loads(run_cli("status", "--config", str(config), "--json", env=env).stdout)
    assert status["problem"] == "secrets missing: run cs:up"

    secrets_file.parent.mkdir()
    secrets_file.write_text(secretfile.dumps(s3.env("r2")))
    done = run_cli("--config", str(config), "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert Remote(s3, "acme/web/demo/data").tree() == BASELINE
    status = json.loads(run_cli("status", "--config", str(config), "--json", env=env).stdout)
    assert status["problem"] is None


@pytest.mark.parametrize(
    "argv",
    [
        ["coltec-worker", "--validate-only", "--json"],
        ["coltec-validate", "--json", "--file"],
        ["coltec-worker", "status", "--json", "--state-dir"],
    ],
)
def test_a_reader_that_goes_away_is_exit_1_without_a_traceback(
    env: dict[str, str], config: Path, argv: list[str]
) -> None:
    last = str(state(config)) if argv[-1] == "--state-dir" else str(config)
    if argv[0] == "coltec-worker" and argv[1] != "status":
        argv = [*argv, "--config"]
    assert closed_pipe_run([*argv, last], env) == QUIET_EXIT_1


def test_a_spec_that_is_a_fifo_nobody_writes_is_read_at_once(
    env: dict[str, str], tmp_path: Path
) -> None:
    """A named pipe without a writer used to block every reader forever (open() waits)."""
    fifo = tmp_path / "workspace-spec.yaml"
    os.mkfifo(fifo)
    for argv in (
        ["coltec-validate", "--file", str(fifo)],
        ["coltec-worker", "--config", str(fifo), "--validate-only"],
        ["coltec-worker", "--config", str(fifo), "--once"],
    ):
        result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=30)
        assert result.returncode in (1, 2), (argv, result.stderr)
        assert "the file is empty" in result.stdout + result.stderr, argv


def test_a_state_dir_that_is_a_file_is_one_line_and_exit_2(
    env: dict[str, str], config: Path, tmp_path: Path
) -> None:
    taken = tmp_path / "not-a-folder"
    taken.write_text("mine\n")
    for where in (taken, taken / "state"):
        result = run_cli("--config", str(config), "--once", "--state-dir", str(where), env=env)
        assert result.returncode == 2, result.stderr
        line = json.loads(result.stderr.strip().splitlines()[-1])
        assert line["event"] == "invalid_configuration"
        assert f"{taken} is not a folder" in line["error"] and "COLTEC_STATE_DIR" in line["hint"]
    assert taken.read_text() == "mine\n"
    status = run_cli("status", "--json", "--state-dir", str(taken), env=env)
    assert json.loads(status.stdout)["state_dir_problem"] == f"not a folder ({taken})"
