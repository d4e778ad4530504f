"""Fixtures for the template tests: a template git repo (v1), a nexus git repo, the CLI.

The template tree (copier.yaml, template/, base-image/IMAGE, and the spec schema whose
interval default and bounds copier.yaml reads) is copied into a
temporary git repository, committed and tagged v1 — copier's own update tests do
the same — so tests can change it and tag v2 without touching this checkout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.budget import budget

REPO_ROOT = Path(__file__).resolve().parents[3]
GIT_ENV = {
    "GIT_AUTHOR_NAME": "coltec-test",
    "GIT_AUTHOR_EMAIL": "test@coltec.invalid",
    "GIT_COMMITTER_NAME": "coltec-test",
    "GIT_COMMITTER_EMAIL": "test@coltec.invalid",
    "GIT_CONFIG_NOSYSTEM": "1",
}


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, **GIT_ENV}
    out = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert out.returncode == 0, f"git {' '.join(args)} failed: {out.stderr}"
    return out.stdout


def commit_all(repo: Path, message: str, tag: str | None = None) -> None:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "--no-gpg-sign", "-m", message)
    if tag:
        git(repo, "tag", tag)


def make_template_repo(dst: Path) -> Path:
    """A git repository holding this checkout's template, tagged v1."""
    dst.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "copier.yaml", dst / "copier.yaml")
    shutil.copytree(REPO_ROOT / "template", dst / "template")
    (dst / "schema").mkdir()
    shutil.copy(REPO_ROOT / "schema" / "workspace-spec.schema.json", dst / "schema")
    if (REPO_ROOT / "extensions").is_dir():  # their symlinks point into template/
        shutil.copytree(REPO_ROOT / "extensions", dst / "extensions", symlinks=True)
    if (REPO_ROOT / "base-image" / "IMAGE").exists():
        (dst / "base-image").mkdir()
        shutil.copy(REPO_ROOT / "base-image" / "IMAGE", dst / "base-image" / "IMAGE")
    git(dst, "init", "-q", "-b", "main")
    commit_all(dst, "template v1", "v1")
    return dst


def edit_file(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """copier commits in scratch repositories; give git an identity that is not the user's."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("COLTEC_TEMPLATE_REF", raising=False)


@pytest.fixture(scope="session")
@budget(60)  # a git repository with one tag
def template_v1(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only template repository at v1, shared by tests that never change it."""
    return make_template_repo(tmp_path_factory.mktemp("tpl") / "template")


@pytest.fixture
def template_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A template repository of this test's own (tagged v1), set as COLTEC_TEMPLATE."""
    repo = make_template_repo(tmp_path / "template")
    monkeypatch.setenv("COLTEC_TEMPLATE", str(repo))
    return repo


@pytest.fixture
def nexus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A nexus git repository whose codespaces/ is COLTEC_CODESPACES_DIR."""
    root = tmp_path / "nexus"
    (root / "codespaces").mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    commit_all(root, "empty nexus")
    monkeypatch.setenv("COLTEC_CODESPACES_DIR", str(root / "codespaces"))
    return root


@pytest.fixture
def cli() -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """Run `python tasks.py TASK ARGS` from the repository root, as mise does."""

    def run(task: str, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(REPO_ROOT / "tasks.py"), task, *args],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=600,
        )

    yield run
