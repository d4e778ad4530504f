"""Shared fixtures. Tool-specific fixtures live in their own modules (see pytest_plugins)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest_plugins = ["tests.s3"]  # fixture `s3`: a real S3 endpoint (rclone serve s3)

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOL_PATH = f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{REPO_ROOT / 'node_modules' / '.bin'}"


@pytest.fixture(autouse=True)
def _isolated_user_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's own ~/.config/coltec or codespaces/."""
    monkeypatch.setenv("COLTEC_USER_CONFIG", "")
    monkeypatch.setenv("COLTEC_CODESPACES_DIR", str(tmp_path / "codespaces"))
    monkeypatch.setenv("PATH", f"{TOOL_PATH}{os.pathsep}{os.environ.get('PATH', '')}")
