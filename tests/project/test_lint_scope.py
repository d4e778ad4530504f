"""ruff sees every Python file of the project: an exclude pattern that matches a folder
name anywhere ("template" once hid coltec/template/ and tests/host/template/ from lint
and format checks) cannot come back unnoticed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OURS = ("coltec", "worker/coltec_worker", "tests", "bench")


def test_ruff_checks_every_python_file_of_the_project() -> None:
    ruff = shutil.which("ruff") or str(Path(sys.executable).parent / "ruff")
    shown = subprocess.run(
        [ruff, "check", "--show-files", "."], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    seen = {Path(line.strip()).resolve() for line in shown.splitlines() if line.strip()}
    ours = {p.resolve() for top in OURS for p in (REPO / top).rglob("*.py")}
    ours.add((REPO / "tasks.py").resolve())
    missed = sorted(str(p.relative_to(REPO)) for p in ours - seen)
    assert not missed, f"ruff does not check {len(missed)} file(s), e.g. {missed[:5]}"
