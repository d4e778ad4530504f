"""The tailscale stand-in's world and argv log, as seen from a test."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
