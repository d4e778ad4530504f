"""JSON with comments (devcontainer.json): comments and trailing commas removed, then json."""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

# A number that float cannot hold as written (1e400 is inf, 1e-400 is 0.0,
# 0.1000000000000000055511151231257827 is 0.1; an int past Python's digit limit cannot
# be read at all) is kept as its text behind this mark, by loads(exact_numbers=True):
# cs:adopt carries it so, and the template writes it back as the bare number it was.
NUMBER_MARK = "\x00json-number:"


def _exact_float(text: str) -> float | str:
    value = float(text)
    if math.isfinite(value) and Decimal(repr(value)) == Decimal(text):
        return value
    return NUMBER_MARK + text


def _exact_int(text: str) -> int | str:
    try:
        return int(text)
    except ValueError:  # more digits than int() reads (sys.get_int_max_str_digits)
        return NUMBER_MARK + text


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


def loads(text: str, *, exact_numbers: bool = False) -> Any:
    """Parse JSONC; raises json.JSONDecodeError like json.loads (also for absurd nesting).
    `exact_numbers`: a number float cannot hold as written is NUMBER_MARK + its text."""
    text = text.removeprefix("\ufeff")  # editors on Windows write a byte-order mark
    try:
        if exact_numbers:
            return json.loads(strip(text), parse_float=_exact_float, parse_int=_exact_int)
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


_STRING = re.compile(r'"(?:\\.|[^"\\])*"')
_SCALAR = re.compile(r"[^\s,\]}]+")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def child(path: str, part: str | int) -> str:
    """`$.a` + `b` -> `$.a.b`; + 0 -> `$.a[0]`; + `./x` -> `$.a["./x"]`."""
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if _IDENT.match(part) else f"{path}[{json.dumps(part)}]"


def positions(text: str) -> dict[str, int]:
    """1-based line of every value of a JSONC document, by JSON path (`$.runArgs[2]`).

    Best effort on text `loads` accepts; a path it cannot place is simply absent.
    """
    stripped = strip(text.removeprefix("\ufeff"))
    out: dict[str, int] = {}
    pos = 0

    def skip() -> None:
        nonlocal pos
        while pos < len(stripped) and stripped[pos] in " \t\r\n,:":
            pos += 1

    def value(path: str, depth: int) -> None:
        nonlocal pos
        skip()
        if pos >= len(stripped) or depth > 200:
            return
        out[path] = stripped.count("\n", 0, pos) + 1
        ch = stripped[pos]
        if ch == "{":
            pos += 1
            while True:
                skip()
                if pos >= len(stripped) or stripped[pos] == "}":
                    pos += 1
                    return
                key = _STRING.match(stripped, pos)
                if key is None:
                    return
                pos = key.end()
                value(child(path, json.loads(key.group(0))), depth + 1)
        elif ch == "[":
            pos, index = pos + 1, 0
            while True:
                skip()
                if pos >= len(stripped) or stripped[pos] == "]":
                    pos += 1
                    return
                value(child(path, index), depth + 1)
                index += 1
        else:
            token = _STRING.match(stripped, pos) or _SCALAR.match(stripped, pos)
            pos = token.end() if token else pos + 1

    value("$", 0)
    return out
