"""The values the worker's options take, and the environment that gives their defaults.

Converters raise ValueError with the message the user needs; the parsers (args.py) turn
it into a usage error (exit 2). The predecessor's interface is kept here: --interval,
--log-format, --log-level and the variables it read for them (ENVIRONMENT), and its pause
switch COLTEC_DISABLED. Two commands share these defaults, `coltec-worker` and
`coltec-daemon` (the predecessor's name); they differ only in the log format's default
(DEFAULT_LOG_FORMAT): text for `coltec-daemon`, as the predecessor wrote it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from coltec_worker.errors import ConfigError
from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

MAX_SECONDS = 7 * 86400.0
DEFAULT_LOG_FORMAT = {"coltec-worker": "json", "coltec-daemon": "text"}
# --log-level: ours, and the predecessor's names for them (trace, warn).
LOG_LEVELS = {
    "trace": "debug",
    "debug": "debug",
    "info": "info",
    "warn": "warning",
    "warning": "warning",
    "error": "error",
}
# The variables that give an option its default (the predecessor's names); a flag wins.
ENVIRONMENT = {
    "interval": "COLTEC_INTERVAL",
    "log_format": "COLTEC_LOG_FORMAT",
    "log_level": "COLTEC_LOG_LEVEL",
}
DISABLED_ENV = "COLTEC_DISABLED"
TRUE, FALSE = ("true", "1", "yes", "on"), ("false", "0", "no", "off", "")


def seconds(text: str) -> float:
    """A duration (--rclone-timeout, flush --timeout): finite, 0 < S <= a week; ValueError."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not 0 < value <= MAX_SECONDS:  # also refuses nan and inf
        raise ValueError(
            f"{text} is out of range: give seconds, more than 0 and at most {MAX_SECONDS:.0f}"
        )
    return value


def delay(text: str) -> float:
    """--start-delay: like seconds(), but 0 (no delay) is allowed."""
    try:
        if float(text) == 0:
            return 0.0
    except ValueError:
        pass
    return seconds(text)


def interval(text: str) -> int:
    """--interval / COLTEC_INTERVAL: whole seconds, within a declared interval's bounds
    (the schema's, read only when one is given)."""
    from coltec_worker.declaration.fields import schema_property

    bounds = schema_property("syncPath", "interval")
    low, high = int(bounds["minimum"]), int(bounds["maximum"])
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number of seconds") from None
    if not low <= value <= high:
        raise ValueError(f"{value} is out of range: give at least {low} and at most {high} seconds")
    return value


def log_format(text: str) -> str:
    if text.lower() not in ("text", "json"):
        raise ValueError(f"{text!r} is not a log format: give text or json")
    return text.lower()


def log_level(text: str) -> str:
    """The logger's level for one of ours or the predecessor's names (trace, warn)."""
    level = LOG_LEVELS.get(text.lower())
    if level is None:
        raise ValueError(f"{text!r} is not a log level: give one of {', '.join(LOG_LEVELS)}")
    return level


CONVERT: dict[str, Callable[[str], Any]] = {
    "interval": interval,
    "log_format": log_format,
    "log_level": log_level,
}


def defaults(prog: str = "coltec-worker", env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The defaults of the options ENVIRONMENT names, for `prog`, with the environment's
    values. ConfigError (exit 2) naming the variable when one is bad."""
    env = os.environ if env is None else env
    out: dict[str, Any] = {
        "interval": None,  # each path's own
        "log_format": DEFAULT_LOG_FORMAT[prog],
        "log_level": "info",
    }
    for attr, var in ENVIRONMENT.items():
        text = env.get(var, "").strip()
        if not text:
            continue
        try:
            out[attr] = CONVERT[attr](text)
        except ValueError as exc:
            flag = "--" + attr.replace("_", "-")
            raise ConfigError(
                f"{var}: {exc}", hint=f"fix or unset {var} ({flag} wins over it)"
            ) from None
    return out


def disabled(env: Mapping[str, str]) -> bool:
    """COLTEC_DISABLED, the predecessor's pause switch: true/1/yes/on. ConfigError (exit 2)
    when it is neither true nor false, rather than guessing whether to touch data."""
    value = env.get(DISABLED_ENV, "").strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ConfigError(
        f"{DISABLED_ENV}={value!r} is neither true nor false",
        hint=f"set {DISABLED_ENV}=true to pause syncing, or unset it",
    )
