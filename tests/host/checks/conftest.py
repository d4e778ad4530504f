"""Fixtures of the org-policy checks: the repository's policy/ and a workspace rendered with it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from coltec.template.create import new_workspace
from coltec.workspaces import REPO_ROOT, Workspace, workspace
from tests.support.budget import budget

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


@pytest.fixture
def policy_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository's policy/ (default + example org acme), as this test's policy."""
    root = tmp_path / "policy-under-test"
    shutil.copytree(REPO_ROOT / "policy", root)
    monkeypatch.setenv("COLTEC_POLICY_DIR", str(root))
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    return root


def line_of(path: Path, needle: str) -> int:
    return next(n for n, s in enumerate(path.read_text().splitlines(), 1) if needle in s)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


@pytest.fixture(scope="module")
@budget(60)  # one cs:new (about 1.5 s)
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """acme/api rendered once by `cs:new` with the acme policy; tests copy it."""
    mp = pytest.MonkeyPatch()
    base = tmp_path_factory.mktemp("rendered")
    shutil.copytree(REPO_ROOT / "policy", base / "policy")
    mp.setenv("COLTEC_POLICY_DIR", str(base / "policy"))
    mp.setenv("COLTEC_CODESPACES_DIR", str(base / "codespaces"))
    for key, value in GIT_ENV.items():
        mp.setenv(key, value)
    try:
        created = new_workspace("acme/api", ["networking_enabled=true"], defaults=True)
        assert created.validation.ok, [
            p.format() for r in created.validation.reports for p in r.problems
        ]
    finally:
        mp.undo()
    return base / "codespaces"


@pytest.fixture
def acme(rendered: Path, policy_dir: Path, tmp_path: Path) -> Workspace:
    shutil.copytree(rendered, tmp_path / "codespaces", dirs_exist_ok=True)
    return workspace("acme/api")
