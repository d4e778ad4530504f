"""Logging with secrets redacted: one line per event, JSON or text.

JSON (the worker's default): {"time", "level", "event", ...fields}. Text (--log-format
text, the predecessor's default and `coltec-daemon`'s): `TIME LEVEL event key=value ...`,
a value JSON-quoted when it is not a plain word. Any string value that contains the
value of a secret-looking environment variable is redacted before it is written, in
both, so an rclone stderr tail or an argv can be logged safely.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from collections.abc import Iterable, Mapping

from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, TextIO

SECRET_NAME = re.compile(r"(SECRET|PASSWORD|PASS|TOKEN|KEY|CREDENTIAL|SESSION)", re.I)
MIN_SECRET_LEN = 4
REDACTED = "***"
LEVELS = ("debug", "info", "warning", "error")
PLAIN = re.compile(r"[\w./:@+,-]+")  # a text-log value shown without quotes


class Redactor:
    """Replaces known secret values in text. Built from an environment mapping."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted(
            {s for s in secrets if len(s) >= MIN_SECRET_LEN}, key=len, reverse=True
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str], extra: Iterable[str] = ()) -> Redactor:
        values = [v for k, v in env.items() if SECRET_NAME.search(k)]
        return cls([*values, *extra])

    def add(self, secret: str) -> None:
        if len(secret) >= MIN_SECRET_LEN and secret not in self._secrets:
            self._secrets = sorted([*self._secrets, secret], key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {str(k): self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


class Logger:
    """Writes one JSON object per line to `stream` (stderr by default)."""

    def __init__(
        self,
        stream: TextIO | None = None,
        redactor: Redactor | None = None,
        level: str = "info",
        fmt: str = "json",
    ) -> None:
        self.stream = stream or sys.stderr
        self.redactor = redactor or Redactor()
        self.min_level = LEVELS.index(level)
        self.text = fmt == "text"

    def log(self, level: str, event: str, **fields: Any) -> None:
        if LEVELS.index(level) < self.min_level:
            return
        record: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + "Z",
            "level": level,
            "event": event,
        }
        record.update({k: v for k, v in fields.items() if v is not None})
        record = self.redactor.value(record)
        line = (
            text_line(record)
            if self.text
            else json.dumps(record, default=str, separators=(",", ":"))
        )
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed or full log must never stop the worker
            if self.stream is not sys.__stderr__ and sys.__stderr__ is not None:
                with contextlib.suppress(OSError, ValueError):
                    sys.__stderr__.write(line + "\n")
                    sys.__stderr__.flush()

    def debug(self, event: str, **fields: Any) -> None:
        self.log("debug", event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        self.log("info", event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        self.log("warning", event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        self.log("error", event, **fields)


def text_line(record: dict[str, Any]) -> str:
    """`TIME LEVEL event key=value ...` for people reading a terminal or a supervisor log."""
    head = f"{record.pop('time')} {record.pop('level').upper():<7} {record.pop('event')}"
    parts = [head]
    for key, value in record.items():
        if not (isinstance(value, str) and PLAIN.fullmatch(value)):
            value = json.dumps(value, default=str, ensure_ascii=False)
        parts.append(f"{key}={value}")
    return " ".join(parts)
