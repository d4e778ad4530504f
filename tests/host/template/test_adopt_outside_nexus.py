"""`cs:adopt` of a project's own `.devcontainer/` (outside codespaces/), as the README offers.

The next steps it prints are run as printed (`mise run` through `./dev run`), the
project's own files stay visible to git, and cs:outdated / cs:update work on the folder
through a template change, file contents compared by sha256.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from pathlib import Path

from tests.host.template.conftest import commit_all, git
from tests.host.template.test_update_dev_nexus import (
    dev,
    dev_json,
    dev_nexus,
    sha256s,
    template_change,
)

DEVCONTAINER = {"name": "shop", "image": "python:3.12", "forwardPorts": [8000]}


def a_project(root: Path) -> Path:
    """A project repository with its own devcontainer, its code and no .gitignore."""
    (root / ".devcontainer").mkdir(parents=True)
    (root / ".devcontainer" / "devcontainer.json").write_text(json.dumps(DEVCONTAINER) + "\n")
    (root / "app.py").write_text("print('hello')\n", encoding="utf-8")
    (root / "pyproject.toml").write_text("[project]\nname = 'shop'\n", encoding="utf-8")
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "the project")
    return root


def run_step(nexus: Path, step: str) -> subprocess.CompletedProcess[str]:
    """A printed next step: `mise run ...` through the clone's ./dev, `git ...` as it is."""
    if step.startswith("mise run "):
        return dev(nexus, "run", *shlex.split(step)[2:])
    return subprocess.run(step, shell=True, cwd=nexus, capture_output=True, text=True)


def test_adopting_a_projects_own_devcontainer(tmp_path: Path) -> None:
    nexus = dev_nexus(tmp_path / "nexus")
    project = a_project(tmp_path / "src" / "shop")
    adopted = dev(nexus, "run", "cs:adopt", str(project), "--apply")
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr

    # Nothing of the project's is hidden from git (no `/*`), only coltec's own files.
    cases = (("app.py", 1), ("pyproject.toml", 1), ("new_module.py", 1), (".coltec/state/x", 0))
    for rel, hidden in cases:  # --no-index: the rules, also for files git already tracks
        argv = ["git", "check-ignore", "-q", "--no-index", rel]
        assert subprocess.run(argv, cwd=project, check=False).returncode == hidden, rel

    steps = [line.split("next: ", 1)[1] for line in adopted.stdout.splitlines() if "next: " in line]
    assert [s.split()[2] for s in steps[1:]] == ["cs:validate", "cs:up", "cs:outdated", "cs:update"]
    assert steps[0].startswith("git "), steps
    added = run_step(nexus, steps[0])  # git add the template's files and commit
    assert added.returncode == 0, added.stderr
    assert git(project, "status", "--porcelain") == ""

    validated = run_step(nexus, steps[1])
    assert validated.returncode == 0, validated.stdout + validated.stderr
    up = run_step(nexus, steps[2])  # no engine here: it finds the folder, then needs one
    assert up.returncode != 2 and "no workspace" not in up.stdout + up.stderr, up.stderr
    (drift,) = dev_json(nexus, "outdated", *shlex.split(steps[3])[3:])
    assert (drift["error"], drift["outdated"]) == ("", False), drift
    before = sha256s(project)
    (current,) = dev_json(nexus, "update", *shlex.split(steps[4])[3:])
    assert current["outcome"] == "current", current
    assert sha256s(project) == before

    # A template change reaches the project through the same commands, its code untouched.
    template_change(nexus, "Template change for projects.")
    (drift,) = dev_json(nexus, "outdated", str(project), "--no-edits")
    assert drift["outdated"] is True, drift
    (updated,) = dev_json(nexus, "update", str(project))
    assert updated["outcome"] == "updated", updated
    readme = (project / "README-coltec-workspace.md").read_text(encoding="utf-8")
    assert "Template change for projects." in readme
    after = sha256s(project)
    assert {k: after[k] for k in ("app.py", "pyproject.toml")} == {
        k: before[k] for k in ("app.py", "pyproject.toml")
    }
    commit_all(project, "template update")
    (settled,) = dev_json(nexus, "update", str(project))
    assert settled["outcome"] == "current", settled
