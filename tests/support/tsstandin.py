"""The tailscale stand-in: `tailscale`/`tailscaled` on PATH, a world file, an argv log.

Standin is the world and argv log as seen from a test. The fixtures `standin` and
`capture` (a plugin registered in tests/conftest.py) put the stand-in in tailscale/standin/
first on PATH and load the `tailscale status --json` captures in tailscale/captures/.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

STANDIN = Path(__file__).resolve().parent / "tailscale" / "standin"
CAPTURES = Path(__file__).resolve().parent / "tailscale" / "captures"


@dataclass
class Standin:
    dir: Path

    def world(self, **values: Any) -> None:
        path = self.dir / "world.json"
        data = json.loads(path.read_text()) if path.exists() else {}
        data.update(values)
        path.write_text(json.dumps(data))

    def state(self) -> dict[str, Any]:
        path = self.dir / "world.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def calls(self, prog: str | None = None) -> list[list[str]]:
        log = self.dir / "argv.jsonl"
        if not log.exists():
            return []
        rows = [json.loads(line) for line in log.read_text().splitlines()]
        return [r["argv"] for r in rows if prog is None or r["prog"] == prog]

    def all_argv_text(self) -> str:
        log = self.dir / "argv.jsonl"
        return log.read_text() if log.exists() else ""


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
