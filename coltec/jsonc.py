"""JSON with comments (devcontainer.json): comments and trailing commas removed, then json."""

from __future__ import annotations

import json
import re
from typing import Any

# One alternation, scanned left to right: strings are kept whole (so '//' inside a
# URL survives), comments are dropped.
_TOKENS = re.compile(r'"(?:\\.|[^"\\])*"|//[^\n]*|/\*.*?\*/', re.S)
_TRAILING_COMMA = re.compile(r'"(?:\\.|[^"\\])*"|,(\s*[}\]])', re.S)


def strip(text: str) -> str:
    """The text without comments and trailing commas (line numbers preserved)."""

    def drop_comment(m: re.Match[str]) -> str:
        token = m.group(0)
        return token if token.startswith('"') else re.sub(r"[^\n]", " ", token)

    def drop_comma(m: re.Match[str]) -> str:
        return m.group(1) if m.group(1) is not None else m.group(0)

    return _TRAILING_COMMA.sub(drop_comma, _TOKENS.sub(drop_comment, text))


def loads(text: str) -> Any:
    """Parse JSONC; raises json.JSONDecodeError like json.loads (also for absurd nesting)."""
    text = text.removeprefix("\ufeff")  # editors on Windows write a byte-order mark
    try:
        return json.loads(strip(text))
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


_STRUCTURE = re.compile(r'"(?:\\.|[^"\\])*"\s*:?|[{}\[\]]')


def key_lines(text: str) -> dict[str, int]:
    """1-based line of each top-level key of a JSONC object (for file:line messages)."""
    stripped, depth = strip(text), 0
    lines: dict[str, int] = {}
    for m in _STRUCTURE.finditer(stripped):
        token = m.group(0)
        if token in "{[":
            depth += 1
        elif token in "}]":
            depth -= 1
        elif depth == 1 and token.endswith(":"):
            key = json.loads(token[:-1].rstrip())
            lines.setdefault(key, stripped.count("\n", 0, m.start()) + 1)
    return lines
