"""Shared fixtures. Tool-specific fixtures live in their own modules (see pytest_plugins)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

pytest_plugins = [
    "tests.support.s3",  # fixture `s3`: a real S3 endpoint (rclone serve s3)
    "tests.support.tsstandin",  # fixtures `standin`, `capture`: the tailscale stand-in
    "tests.support.budget",  # a slow fixture's cold cost is added to its tests' timeouts
]

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOL_PATH = f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{REPO_ROOT / 'node_modules' / '.bin'}"


@pytest.fixture(autouse=True)
def _isolated_user_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own ~/.config/coltec or codespaces/."""
    monkeypatch.setenv("COLTEC_USER_CONFIG", "")
    monkeypatch.setenv("COLTEC_CODESPACES_DIR", str(tmp_path / "codespaces"))
    # Org policy: the repository's default layer only; example org files
    # (policy/orgs/*.yaml) do not leak into tests that happen to use their org.
    policy = tmp_path / "policy"
    policy.mkdir(exist_ok=True)
    shutil.copy(REPO_ROOT / "policy" / "default.yaml", policy / "default.yaml")
    monkeypatch.setenv("COLTEC_POLICY_DIR", str(policy))
    monkeypatch.setenv("PATH", f"{TOOL_PATH}{os.pathsep}{os.environ.get('PATH', '')}")
