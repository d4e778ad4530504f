"""Every declaration of the predecessor's history, and every workspace its templates
render, gets the predecessor's verdict from every one of our entry points.

The files are data/ (sources in README.md). The predecessor refused some of them: its
invalid_* fixtures, and its templates' renders at 2b85ebe/e7a7680 with persistence enabled
(replicated, every sync path commented out). Those must be refused here with the rule
that is the predecessor's error; every other file is valid — and compiles to a plan."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from coltec_worker.cli import main as worker_main
from coltec_worker.cli import validate_cmd
from coltec_worker.declaration.pipeline import validate_file

from tests.predecessor.verdict import DATA, ENV

FILES = sorted(DATA.rglob("*.yaml"))
REPO = Path(__file__).resolve().parents[2]
SYNC = "$.persistence.sync"
# The predecessor's ConfigError for each file it refused, as (our rule, JSON path).
REFUSED: dict[str, set[tuple[str, str]]] = {
    "invalid_workspace.yaml": {("sync-required", SYNC)},
    "invalid_replicated_no_sync.yaml": {("sync-required", SYNC)},
    "invalid_interval_too_low.yaml": {("minimum", f"{SYNC}[0].interval")},
    "invalid_duplicate_sync_name.yaml": {("unique-name", f"{SYNC}[1].name")},
}
RENDERED_EMPTY = ("template@2b85ebe-", "template@e7a7680-")


def expected(file: Path) -> set[tuple[str, str]]:
    if file.name in REFUSED:
        return REFUSED[file.name]
    persisting = not file.name.endswith("-no-persist.yaml")
    if file.name.startswith(RENDERED_EMPTY) and persisting:
        return {("sync-required", SYNC)}
    return set()


def test_the_data_is_all_there() -> None:
    heads = {
        f.relative_to(DATA / "files" / "dc5f23f").as_posix() for f in FILES if "dc5f23f" in f.parts
    }
    assert {".devcontainer/workspace-spec.yaml", "specs/examples/formualizer-dev.yaml"} <= heads
    assert len([h for h in heads if h.startswith("coltec-daemon/tests/data/")]) == 6
    assert len([f for f in FILES if "rendered" in f.parts]) >= 40


@pytest.mark.parametrize("file", FILES, ids=lambda f: str(f.relative_to(DATA)))
def test_the_predecessors_verdict(file: Path, tmp_path: Path) -> None:
    report = validate_file(file, with_user=False, env=ENV, home=tmp_path)
    found = {(p.rule, p.path) for p in report.problems}
    want = expected(file)
    shown = "\n".join(p.format() for p in report.problems)
    if not want:
        assert report.ok and report.plan is not None, shown
        return
    assert want <= found, shown
    # the predecessor's own error is the reason; anything else we add is named here
    extra = found - want - {("remotes-required", "$.persistence")}
    assert not extra, shown


@pytest.mark.parametrize("file", FILES[::4], ids=lambda f: str(f.relative_to(DATA)))
def test_every_entry_point_gives_the_same_verdict(
    file: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    code = validate_cmd.main(["--file", str(file)])
    host = capsys.readouterr().out
    in_container = worker_main.main(["--validate-only", "--config", str(file)])
    assert (in_container, capsys.readouterr().out) == (code, host)
    assert code == (1 if expected(file) else 0), host


def test_cs_validate_agrees_on_all_files() -> None:
    """invoke validate (what `mise run cs:validate` runs), once over every file, with the
    repository's default org policy (conftest: policy/default.yaml only) on top."""
    targets = [a for f in FILES for a in ("-t", str(f))]
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "invoke"), "validate", *targets],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={
            **ENV,
            "PATH": str(REPO / ".venv" / "bin"),
            "HOME": str(REPO),
            "COLUMNS": "300",
            "COLTEC_USER_CONFIG": "",
            "COLTEC_POLICY_DIR": os.environ["COLTEC_POLICY_DIR"],
        },
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr  # some are refused
    for file in FILES:
        refused = f"{file}:" in result.stdout
        assert refused == bool(expected(file)), (file, result.stdout[-3000:])
