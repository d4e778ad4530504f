"""The hostile corpus: devcontainer folders a hostile committer writes, each refused.

Each folder in hostile/refused/ replaces the .devcontainer/ of a workspace rendered by
`cs:new` (org acme, whose policy allows only some images) and names, in expected.yaml,
the rule that must refuse it, the file and the JSON path the problem points at. Each is
refused by `cs:validate` and by `cs:up` with a recording `docker` first on PATH (nothing
reaches docker's run, create, build or compose). The folders in hostile/allowed/ are the
harmless twins: valid, and (tests/host/checks/test_guard.py) they still start.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from coltec.checks.run import validate_files
from coltec.errors import ColtecError
from coltec.runtime.docker import DockerEngine
from coltec.runtime.lifecycle import up
from coltec.workspaces import Workspace
from tests.support.mise import mise_run

CORPUS = Path(__file__).parent / "hostile"
REFUSED = sorted(p.name for p in (CORPUS / "refused").iterdir())
ALLOWED = sorted(p.name for p in (CORPUS / "allowed").iterdir())
RECORDER = """#!/bin/sh
printf '%s\\n' "$*" >> "{log}"
echo "recording docker: no engine here" >&2
exit 1
"""


def use_case(ws: Workspace, kind: str, case: str) -> dict[str, str]:
    """The workspace with the case's files instead of its .devcontainer/devcontainer.json."""
    (ws.dir / ".devcontainer" / "devcontainer.json").unlink()
    shutil.copytree(CORPUS / kind / case, ws.dir, dirs_exist_ok=True, symlinks=True)
    (ws.dir / "expected.yaml").unlink()
    expected: dict[str, str] = yaml.safe_load((CORPUS / kind / case / "expected.yaml").read_text())
    return expected


def test_corpus_covers_every_rule() -> None:
    rules = {
        yaml.safe_load((CORPUS / "refused" / c / "expected.yaml").read_text())["rule"]
        for c in REFUSED
    }
    assert rules >= {
        "privileged", "capabilities", "host-root", "engine-socket", "host-etc", "devices",
        "security-unconfined", "host-namespaces", "host-commands", "features",
        "build-options", "base-image", "unreadable",
    }  # fmt: skip
    assert len(REFUSED) >= 80 and len(ALLOWED) >= 10


@pytest.mark.parametrize("case", REFUSED)
def test_validate_refuses(case: str, acme: Workspace) -> None:
    expected = use_case(acme, "refused", case)
    run = validate_files([acme.spec_file])
    problems = [p for r in run.reports for p in r.problems]
    assert run.exit_code() == 1, [p.format() for p in problems]
    mine = [p for p in problems if p.rule == f"policy:{expected['rule']}"]
    assert mine, [p.format() for p in problems]
    want = (acme.dir / expected["file"]).resolve()
    assert any(Path(p.file).resolve() == want for p in mine), [p.format() for p in mine]
    if expected.get("path"):
        assert expected["path"] in [p.path for p in mine], [p.format() for p in mine]
    for p in mine:
        assert p.line is not None or expected["rule"] == "unreadable", p.format()
        assert p.hint


@pytest.mark.parametrize("case", ALLOWED)
def test_validate_allows_the_twins(case: str, acme: Workspace) -> None:
    use_case(acme, "allowed", case)
    run = validate_files([acme.spec_file])
    assert run.ok, [p.format() for r in run.reports for p in r.problems]


@pytest.fixture
def recording_docker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `docker` first on PATH that records every call (and has no engine behind it)."""
    folder = tmp_path / "recorder"
    folder.mkdir()
    log = tmp_path / "docker-calls.log"
    log.touch()
    script = folder / "docker"
    script.write_text(RECORDER.format(log=log))
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    return log


@pytest.mark.parametrize("case", REFUSED)
def test_up_refuses_before_docker_runs(case: str, acme: Workspace, recording_docker: Path) -> None:
    expected = use_case(acme, "refused", case)
    with pytest.raises(ColtecError) as caught:
        up(DockerEngine.from_option(), acme)
    assert f"policy:{expected['rule']}" in str(caught.value) or expected["rule"] in str(
        caught.value
    ), caught.value
    calls = recording_docker.read_text().splitlines()
    assert not [c for c in calls if c.split(" ")[0] in ("run", "create", "build", "compose")]


@pytest.mark.parametrize(
    "case", ["privileged-string-false", "compose-merge-key", "devcontainer-over-1mib"]
)
def test_cs_validate_the_readme_way(case: str, acme: Workspace) -> None:
    """`mise run cs:validate ORG/NAME --json`, as a user runs it: exit 1, no traceback."""
    expected = use_case(acme, "refused", case)
    done = mise_run("cs:validate", acme.key, "--json")
    assert done.returncode == 1, done.stdout + done.stderr
    rules = {p["rule"] for f in json.loads(done.stdout)["files"] for p in f["problems"]}
    assert f"policy:{expected['rule']}" in rules, done.stdout
    assert "Traceback" not in done.stderr
