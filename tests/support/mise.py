"""Driving the product the way the README does (`mise run TASK ...`), and the one rule for a
tier whose machinery is missing: fail in CI, skip with the reason elsewhere."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MISE = str(REPO_ROOT / "node_modules" / ".bin" / "mise")


def mise_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default: this process's environment) with mise trusting this checkout."""
    env = dict(os.environ if base is None else base)
    env.update({"MISE_YES": "1", "MISE_TRUSTED_CONFIG_PATHS": str(REPO_ROOT)})
    return env


def mise_run(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`mise run ARGS...` from the repository root, output captured, never raising."""
    return subprocess.run(
        [MISE, "run", *args],
        cwd=REPO_ROOT,
        env=mise_env(env),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=False,
    )


def tier_unavailable(tier: str, reason: str) -> None:
    """A tier that cannot run here: a failure in CI (it must run there), else a skip."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{tier} tier cannot run in CI: {reason}", pytrace=False)
    pytest.skip(f"{tier}: {reason}")
