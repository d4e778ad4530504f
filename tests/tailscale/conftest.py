"""The tailscale stand-in: `tailscale`/`tailscaled` on PATH, a world file, an argv log."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tsstandin import Standin

STANDIN = Path(__file__).resolve().parent / "standin"
CAPTURES = Path(__file__).resolve().parent / "captures"


@pytest.fixture
def standin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Standin:
    world = tmp_path / "tailscale-world"
    world.mkdir()
    monkeypatch.setenv("COLTEC_TS_STANDIN", str(world))
    monkeypatch.setenv("PATH", f"{STANDIN}{os.pathsep}{os.environ['PATH']}")
    return Standin(world)


@pytest.fixture
def capture() -> Callable[[str], dict[str, Any]]:
    def load(name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((CAPTURES / name).read_text())
        return data

    return load
