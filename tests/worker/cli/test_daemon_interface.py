"""The predecessor's daemon interface, run as its users' scripts run it: `coltec-daemon` and
`coltec-worker` processes against a real S3 endpoint.

Flags --interval, --log-format, --log-level; COLTEC_CONFIG, COLTEC_INTERVAL,
COLTEC_LOG_FORMAT, COLTEC_LOG_LEVEL, COLTEC_DISABLED; the health file
~/.local/share/coltec-daemon/<workspace>/health.json and its fields.
"""

from __future__ import annotations

import json
import os
import subprocess
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.s3 import S3Server
from tests.worker.helpers import (
    BASELINE,
    Remote,
    events,
    make_spec,
    read_tree,
    run_cli,
    stop,
    wait_for,
    write_tree,
)

HEALTH_FIELDS = {"healthy", "last_success", "last_attempt", "consecutive_failures", "last_error"}


@pytest.fixture
def env(s3: S3Server, tmp_path: Path) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("COLTEC_", "XDG_DATA"))}
    return {**base, **s3.env("r2"), "HOME": str(tmp_path / "home"), "COLTEC_USER_CONFIG": ""}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    config = make_spec(tmp_path, [{"name": "data"}, {"name": "notes", "priority": 5}])
    for name in ("data", "notes"):
        write_tree(config.parent.parent / name, BASELINE)
    return config


def daemon(
    *args: str, env: dict[str, str], timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["coltec-daemon", *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def dry_run(config: Path, env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    result = daemon("--config", str(config), "--dry-run", *args, env=env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def health_file(env: dict[str, str], workspace: str = "demo") -> Path:
    return Path(env["HOME"]) / ".local" / "share" / "coltec-daemon" / workspace / "health.json"


def test_coltec_daemon_is_the_worker_with_the_predecessors_flags(env: dict[str, str]) -> None:
    assert daemon("--version", env=env).stdout.startswith("coltec-daemon ")
    usage = daemon("--help", env=env)
    assert usage.returncode == 0
    for flag in (
        "--config",
        "--once",
        "--dry-run",
        "--validate-only",
        "--interval",
        "--only",
        "--log-format",
        "--log-level",
    ):
        assert flag in usage.stdout


def test_config_from_coltec_config(env: dict[str, str], config: Path) -> None:
    result = daemon("--validate-only", env={**env, "COLTEC_CONFIG": str(config)})
    assert result.returncode == 0 and f"{config}: valid" in result.stdout


def test_interval_from_the_flag_or_the_environment_the_flag_wins(
    env: dict[str, str], config: Path
) -> None:
    assert {p["interval"] for p in dry_run(config, env)} == {60}  # the spec's own
    assert {p["interval"] for p in dry_run(config, env, "--interval", "45")} == {45}
    by_env = {**env, "COLTEC_INTERVAL": "90"}
    assert {p["interval"] for p in dry_run(config, by_env)} == {90}
    assert {p["interval"] for p in dry_run(config, by_env, "--interval=120")} == {120}


@pytest.mark.parametrize(
    ("args", "extra", "said"),
    [
        (["--interval", "5"], {}, "at least 10"),  # below the schema's minimum
        (["--interval", "1.5"], {}, "whole number"),
        ([], {"COLTEC_INTERVAL": "soon"}, "COLTEC_INTERVAL"),
        ([], {"COLTEC_INTERVAL": "1"}, "COLTEC_INTERVAL"),
        (["--log-format", "xml"], {}, "text or json"),
        ([], {"COLTEC_LOG_FORMAT": "xml"}, "COLTEC_LOG_FORMAT"),
        (["--log-level", "loud"], {}, "not a log level"),
        ([], {"COLTEC_LOG_LEVEL": "loud"}, "COLTEC_LOG_LEVEL"),
        ([], {"COLTEC_DISABLED": "maybe"}, "COLTEC_DISABLED"),
    ],
)
def test_bad_values_are_usage_errors_naming_the_flag_or_variable(
    env: dict[str, str],
    config: Path,
    s3: S3Server,
    args: list[str],
    extra: dict[str, str],
    said: str,
) -> None:
    result = daemon("--config", str(config), "--once", *args, env={**env, **extra})
    assert result.returncode == 2
    assert said in result.stderr and "Traceback" not in result.stderr
    assert read_tree(s3.bucket_dir) == {}  # nothing ran


def test_the_daemon_runs_every_path_at_the_given_interval(
    env: dict[str, str], config: Path, tmp_path: Path
) -> None:
    log = tmp_path / "daemon.log"
    proc = subprocess.Popen(
        ["coltec-daemon", "--config", str(config), "--start-delay", "0", "--log-file", str(log)],
        env={**env, "COLTEC_INTERVAL": "40", "COLTEC_LOG_FORMAT": "json"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:

        def both_ran() -> list[dict[str, Any]]:
            status = run_cli("status", "--config", str(config), "--json", env=env)
            paths = json.loads(status.stdout)["paths"]
            return paths if all(p["outcome"] == "ok" and p["next_run"] for p in paths) else []

        for p in wait_for(both_ran, 60, "a first run of both paths"):
            gap = datetime.fromisoformat(p["next_run"]) - datetime.fromisoformat(p["last_end"])
            assert 39 <= gap.total_seconds() <= 41, p  # the spec says 60
        configured = [e for e in events(log) if e["event"] == "configured"]
        assert configured and configured[0]["interval"] == 40
    finally:
        stop(proc)


def test_log_format_text_is_coltec_daemons_default_json_is_coltec_workers(
    env: dict[str, str], config: Path
) -> None:
    text = daemon("--config", str(config), "--once", env=env)
    assert text.returncode == 0, text.stderr
    lines = text.stderr.splitlines()
    assert lines and not any(line.startswith("{") for line in lines)
    assert any(" INFO " in line and " run_end " in line and "path=data" in line for line in lines)
    as_json = daemon("--config", str(config), "--once", env={**env, "COLTEC_LOG_FORMAT": "json"})
    assert all(json.loads(line)["event"] for line in as_json.stderr.splitlines())
    worker = run_cli("--config", str(config), "--once", env=env)
    assert all(json.loads(line)["event"] for line in worker.stderr.splitlines())
    flag = run_cli("--config", str(config), "--once", "--log-format", "text", env=env)
    assert not any(line.startswith("{") for line in flag.stderr.splitlines())


def test_secrets_are_redacted_in_text_logs_too(env: dict[str, str], config: Path) -> None:
    secret = env["RCLONE_CONFIG_R2_SECRET_ACCESS_KEY"]
    result = daemon("--config", str(config), "--once", "--log-level", "debug", env=env)
    assert result.returncode == 0
    assert secret not in result.stderr + result.stdout


@pytest.mark.parametrize(("level", "shown"), [("warn", False), ("error", False), ("trace", True)])
def test_log_level_takes_the_predecessors_names(
    env: dict[str, str], config: Path, level: str, shown: bool
) -> None:
    result = run_cli("--config", str(config), "--once", "--log-level", level, env=env)
    assert result.returncode == 0
    infos = [e for e in map(json.loads, result.stderr.splitlines()) if e["level"] == "info"]
    assert bool(infos) is shown
    by_env = run_cli("--config", str(config), "--once", env={**env, "COLTEC_LOG_LEVEL": level})
    assert by_env.returncode == 0 and ('"level":"info"' in by_env.stderr) is shown


@pytest.mark.parametrize("value", ["true", "TRUE", "1"])
def test_coltec_disabled_pauses_syncing_and_says_so(
    env: dict[str, str], config: Path, s3: S3Server, value: str
) -> None:
    paused = {**env, "COLTEC_DISABLED": value}
    for args in (["--once"], []):  # one pass, and the daemon: both exit at once, 0
        result = run_cli("--config", str(config), *args, env=paused, timeout=30)
        assert result.returncode == 0, result.stderr
        assert "disabled" in result.stderr and "COLTEC_DISABLED" in result.stderr
    assert read_tree(s3.bucket_dir) == {}
    state = config.parent.parent / ".coltec" / "state"
    assert not (state / "worker.pid").exists() and not (state / "status").exists()
    assert run_cli("--config", str(config), "--validate-only", env=paused).returncode == 0
    assert (
        run_cli(
            "--config", str(config), "--once", env={**env, "COLTEC_DISABLED": "false"}
        ).returncode
        == 0
    )
    assert read_tree(Remote(s3, "acme/web/demo/data").dir) == BASELINE


def test_health_file_after_a_pass_with_the_predecessors_fields(
    env: dict[str, str], config: Path
) -> None:
    result = daemon("--config", str(config), "--once", env=env)
    assert result.returncode == 0, result.stderr
    health = json.loads(health_file(env).read_text())
    assert set(health) == HEALTH_FIELDS
    assert health["healthy"] is True and health["consecutive_failures"] == 0
    assert health["last_error"] is None
    assert (
        isinstance(health["last_attempt"], int) and health["last_success"] == health["last_attempt"]
    )
    assert abs(health["last_attempt"] - datetime.now().timestamp()) < 120


def test_health_turns_unhealthy_after_three_failed_passes_then_recovers(
    env: dict[str, str], config: Path
) -> None:
    assert daemon("--config", str(config), "--once", env=env).returncode == 0
    first_success = json.loads(health_file(env).read_text())["last_success"]
    wrong = {
        **env,
        "RCLONE_CONFIG_R2_SECRET_ACCESS_KEY": "not-the-secret-key",
        "RCLONE_RETRIES": "1",
    }
    seen = []
    for _ in range(3):
        assert daemon("--config", str(config), "--once", env=wrong).returncode == 1
        seen.append(json.loads(health_file(env).read_text()))
    assert [h["consecutive_failures"] for h in seen] == [1, 2, 3]
    assert [h["healthy"] for h in seen] == [True, True, False]
    assert all(h["last_success"] == first_success for h in seen)
    assert seen[-1]["last_error"].startswith(("notes: ", "data: "))
    assert "not-the-secret-key" not in health_file(env).read_text()
    assert daemon("--config", str(config), "--once", env=env).returncode == 0
    healed = json.loads(health_file(env).read_text())
    assert healed["healthy"] is True and healed["consecutive_failures"] == 0
    assert healed["last_error"] is None and healed["last_success"] >= first_success


def test_health_file_follows_xdg_data_home_and_the_workspace_name(
    env: dict[str, str], config: Path, tmp_path: Path
) -> None:
    data_home = tmp_path / "xdg"
    moved = {**env, "XDG_DATA_HOME": str(data_home), "WORKSPACE_NAME": "renamed"}
    assert run_cli("--config", str(config), "--once", env=moved).returncode == 0
    assert json.loads((data_home / "coltec-daemon" / "renamed" / "health.json").read_text())[
        "healthy"
    ]
    assert not health_file(env).exists() and not health_file(env, "renamed").exists()
