"""rclone's own log (--use-json-log): the run's stats, its last error lines (redacted, no
ANSI colours) and the files it reported an error for."""

from __future__ import annotations

import json

from coltec_worker.log import Redactor
from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

TAIL_LINES = 8


MAX_OBJECTS = 50


def parse_log(path: str, redactor: Redactor) -> tuple[dict[str, Any], list[str], list[str]]:
    """rclone's final stats object, its error messages and the files they name, from a
    --use-json-log file."""
    stats: dict[str, Any] = {}
    errors: list[str] = []
    objects: list[str] = []
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            for line in fh:  # streamed: a long log never sits in memory
                _parse_line(line, stats, errors, redactor, objects)
                del errors[:-TAIL_LINES]
    except OSError:
        pass
    return stats, errors, objects


def _parse_line(
    line: str,
    stats: dict[str, Any],
    errors: list[str],
    redactor: Redactor,
    objects: list[str] | None = None,
) -> None:
    if not line.startswith("{"):
        if line.strip():
            errors.append(redactor.text(line.strip())[:500])
        return
    try:
        record = json.loads(line)
    except ValueError:
        return
    if isinstance(record.get("stats"), dict):
        stats.clear()
        stats.update(record["stats"])
    message = str(record.get("msg", ""))
    if record.get("level") in ("error", "critical") or message.startswith("Failed to"):
        text = f"{record.get('object', '')}: {message}".strip(": ")
        errors.append(redactor.text(_strip_ansi(text))[:500])
        name = record.get("object")
        if objects is None or record.get("level") != "error" or not isinstance(name, str):
            return
        if not str(record.get("objectType", "")).endswith("Object"):
            return  # an error about a whole remote ("Local file system at ..."), not a file
        if name and name not in objects and len(objects) < MAX_OBJECTS:
            objects.append(name)


def _strip_ansi(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\x1b":
            end = text.find("m", i)
            i = end + 1 if end != -1 else len(text)
            continue
        out.append(text[i])
        i += 1
    return "".join(out)
