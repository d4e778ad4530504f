"""cs:adopt keeps a number as it is written when a float cannot hold it (1e400 is inf,
1e-400 is 0.0, a 35-digit decimal is rounded): the adopted devcontainer.json, and every
cs:update after it, still say 1e400 — valid JSON the devcontainer CLI reads as written,
never `Infinity`, which is not JSON at all."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from coltec.workspaces import REPO_ROOT
from tests.host.template.conftest import commit_all, git

DC = Path(".devcontainer") / "devcontainer.json"
WRITTEN = {
    "editor.big": "1e400",
    "editor.tiny": "-1E-400",
    "editor.exact": "0.1000000000000000055511151231257827",
    "editor.long": "1" + "0" * 5000,  # past int()'s digit limit
}
PLAIN = {"editor.size": "14", "editor.ratio": "1.5"}


def _strict(text: str) -> object:
    """JSON as the devcontainer CLI reads it: no NaN or Infinity."""

    def refuse(name: str) -> object:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse, parse_int=str)


def _cs(nexus: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "tasks.py"), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize("which", ["1e400", "all"])
def test_adopt_keeps_numbers_a_float_cannot_hold_as_written(
    template_repo: Path, nexus: Path, which: str
) -> None:
    written = {"editor.big": "1e400"} if which == "1e400" else WRITTEN
    ws = nexus / "codespaces" / "team" / "numbers"
    (ws / ".devcontainer").mkdir(parents=True)
    settings = ", ".join(f'"{k}": {v}' for k, v in {**written, **PLAIN}.items())
    (ws / DC).write_text(
        "{\n"
        '  "image": "mcr.microsoft.com/devcontainers/base:ubuntu",\n'
        f'  "customizations": {{"vscode": {{"settings": {{{settings}}}}}}}\n'
        "}\n",
        encoding="utf-8",
    )
    commit_all(nexus, "a hand-made workspace")
    adopted = _cs(nexus, "adopt", str(ws), "--apply")
    assert adopted.returncode == 0, adopted.stderr
    assert "Traceback" not in adopted.stderr
    text = (ws / DC).read_text(encoding="utf-8")
    _strict(text)
    for key, number in {**written, **PLAIN}.items():
        assert f'"{key}": {number}' in text, (key, text[:3000])
    assert "json-number" not in text and "Infinity" not in text

    commit_all(nexus, "adopted")
    # the template moves on; the update renders the numbers from the answers again
    readme = template_repo / "template" / "README-coltec-workspace.md.jinja"
    readme.write_text(readme.read_text(encoding="utf-8") + "\nv2\n", encoding="utf-8")
    commit_all(template_repo, "template v2", "v2")
    updated = _cs(nexus, "update", "team/numbers")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    again = (ws / DC).read_text(encoding="utf-8")
    assert again == text
    assert git(nexus, "status", "--porcelain", "--", str(ws / DC)) == ""
