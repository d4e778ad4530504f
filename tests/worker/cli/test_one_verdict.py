"""One verdict everywhere: every corpus case through every entry point.

The corpus (tests/support/specs, see tests/support/corpus_cases.py) gives each file its verdict;
here each entry point must reach it: `coltec-validate`, `invoke validate`'s library
(without org policy), `coltec-worker --validate-only`, `--dry-run`, `--once`, `flush`,
the compile child, the daemon's start, and its SIGHUP reload (a rejected reload keeps
the old plan). A valid case starts the daemon and `--once` succeeds against a real S3
endpoint. Valid cases run with their local folders moved under the test's temporary
directory (a valid spec names /workspace or /data; nothing here writes there).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from coltec_worker.cli import compile_cmd, validate_cmd
from coltec_worker.cli import main as worker_main
from coltec_worker.cli.flush import flush_main

from coltec.checks.run import validate_files
from tests.support.corpus_cases import ALL_CASES, Case
from tests.support.s3 import S3Server
from tests.worker.helpers import events, start_daemon, stop, wait_for

SCRUB = re.compile(r"^(WORKSPACE_|RCLONE_|COLTEC_CRYPT|USER$)")
LOCAL_PATH = re.compile(r"(?m)((?:^|[\s{,])path: *)/")


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not SCRUB.match(k)}
    return {
        **env,
        "HOME": str(home),
        "COLTEC_USER_CONFIG": "",
        "COLTEC_POLICY_DIR": str(home / "no-policy"),
        "COLTEC_CRYPT_PASSWORD": "corpus-crypt-password",
    }


def case_env(case: Case, home: Path, user: Path | None = None) -> dict[str, str]:
    user = user or case.user_config
    return {**base_env(home), **case.env, "COLTEC_USER_CONFIG": str(user or "")}


def rerooted(case: Case, tmp: Path) -> tuple[Path, Path | None]:
    """Copies of a valid case (and its user config) with local folders under tmp."""

    def copy(file: Path, name: str) -> Path:
        text = LOCAL_PATH.sub(lambda m: f"{m[1]}{tmp}/", file.read_text(encoding="utf-8-sig"))
        out = tmp / name
        out.write_text(text)
        return out

    tmp.mkdir(parents=True, exist_ok=True)
    user = copy(case.user_config, "user.yaml") if case.user_config else None
    return copy(case.file, "workspace-spec.yaml"), user


def expected_code(case: Case) -> int:
    """The validators' exit code: 0 valid, 1 invalid, 2 unreadable."""
    return 2 if case.unreadable is not None else (0 if case.valid else 1)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
def test_every_in_process_entry_point_reaches_the_corpus_verdict(
    case: Case, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    env = case_env(case, home)
    for key in [k for k in os.environ if SCRUB.match(k)]:
        monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    config, state = str(case.file), str(tmp_path / "state")
    want = expected_code(case)
    user = ["--user-config", str(case.user_config)] if case.user_config else []
    verdicts = {
        "coltec-validate": validate_cmd.main(["--file", config, *user]),
        "--validate-only": worker_main.main(["--validate-only", "--config", config]),
        "compile child": compile_cmd.main(["--config", config]),
        "invoke validate": validate_files([case.file], case.user_config).exit_code(),
        "--dry-run": worker_main.main(["--dry-run", "--config", config, "--state-dir", state]),
    }
    if not case.valid:  # these would sync: valid cases run against S3 below
        verdicts["--once"] = worker_main.main(["--once", "--config", config, "--state-dir", state])
        verdicts["flush"] = flush_main(["--config", config, "--state-dir", state])
    capsys.readouterr()
    validators = {
        k: v
        for k, v in verdicts.items()
        if k in ("coltec-validate", "--validate-only", "compile child", "invoke validate")
    }
    runners = {k: v for k, v in verdicts.items() if k not in validators}
    assert set(validators.values()) == {want}, verdicts
    # The worker's commands: 0 when valid, 2 (invalid configuration) otherwise.
    assert set(runners.values()) == {0 if case.valid else 2}, verdicts
    assert not (tmp_path / "state" / "bisync").exists()  # nothing ran for an invalid case


def _daemon_verdict(case: Case, work: Path) -> tuple[Case, str]:
    work.mkdir(parents=True)
    (work / "home").mkdir()
    config, user = (case.file, case.user_config)
    if case.valid:
        config, user = rerooted(case, work / "ws")
    env = case_env(case, work / "home", user)
    log = work / "worker.log"
    proc = start_daemon(
        config, env, log, "--start-delay", "600", "--state-dir", str(work / "state")
    )
    try:
        wait_for(
            lambda: proc.poll() is not None or any(e["event"] == "started" for e in events(log)),
            timeout=60,
            what=f"{case.id}: the daemon starts or exits",
        )
    finally:
        stop(proc)
    told = [e["event"] for e in events(log) if e["event"] in ("started", "invalid_configuration")]
    return case, f"exit {proc.returncode}: {','.join(told)}"


def test_the_daemon_starts_exactly_the_valid_cases(tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(
            pool.map(lambda ic: _daemon_verdict(ic[1], tmp_path / str(ic[0])), enumerate(ALL_CASES))
        )
    wrong = [
        f"{case.id}: {got}"
        for case, got in results
        if got != ("exit 0: started" if case.valid else "exit 2: invalid_configuration")
    ]
    assert not wrong, "\n".join(wrong)


def _reloads(log: Path) -> list[dict[str, object]]:
    return [e for e in events(log) if e["event"] in ("reloaded", "reload_failed")]


def test_sighup_reload_gives_the_corpus_verdict_and_keeps_the_old_plan(tmp_path: Path) -> None:
    """One daemon; each case in turn becomes its config, then SIGHUP. Cases with their own
    environment or user config need another daemon environment: the start test has them."""
    home = tmp_path / "home"
    home.mkdir()
    work = tmp_path / "ws"
    start, _ = rerooted(next(c for c in ALL_CASES if c.file.stem == "sibling-paths"), work)
    config = tmp_path / "workspace-spec.yaml"
    config.write_bytes(start.read_bytes())
    log = tmp_path / "worker.log"
    proc = start_daemon(
        config, base_env(home), log, "--start-delay", "600", "--state-dir", str(tmp_path / "state")
    )
    cases = [c for c in ALL_CASES if not c.env and not c.user_config]
    wrong: list[str] = []
    try:
        wait_for(lambda: any(e["event"] == "started" for e in events(log)), 60, "start")
        # the daemon runs a compiled plan: libyaml is never loaded into it
        assert "yaml" not in Path(f"/proc/{proc.pid}/maps").read_text()
        for i, case in enumerate(cases):
            source = rerooted(case, tmp_path / f"valid{i}")[0] if case.valid else case.file
            config.write_bytes(source.read_bytes())
            proc.send_signal(signal.SIGHUP)
            wait_for(lambda n=i: len(_reloads(log)) > n, 30, f"{case.id}: reload answered")
            got = _reloads(log)[i]
            if got["event"] != ("reloaded" if case.valid else "reload_failed"):
                wrong.append(f"{case.id}: {got}")
            if not case.valid:
                assert got["kept"] == "the previous configuration"
        assert proc.poll() is None, "a reload never stops the daemon"
    finally:
        assert stop(proc) == 0
    assert not wrong, "\n".join(wrong)
    assert len(cases) >= 100


@pytest.fixture
def valid_cases() -> Iterator[list[Case]]:
    yield [c for c in ALL_CASES if c.valid]


def test_every_valid_case_syncs_once_against_s3(
    s3: S3Server, tmp_path: Path, valid_cases: list[Case]
) -> None:
    (s3.root / "my-bucket").mkdir()  # env-overrides-ok names this bucket by URL
    failures: list[str] = []
    for i, case in enumerate(valid_cases):
        config, user = rerooted(case, tmp_path / f"case{i}")
        env = {**case_env(case, tmp_path / f"case{i}", user), **s3.env("r2"), **case.env}
        result = subprocess.run(
            [
                "coltec-worker",
                "--once",
                "--config",
                str(config),
                "--state-dir",
                str(tmp_path / f"state{i}"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if result.returncode != 0:
            failures.append(f"{case.id}: exit {result.returncode}: {result.stderr[-800:]}")
    assert not failures, "\n".join(failures)
    assert len(valid_cases) >= 10
