"""Secrets for `cs:up`: the caller's environment, plus `fnox eval` when fnox is installed.

The template's devcontainer.json names host variables (`${localEnv:VAR}`); the
devcontainer CLI reads their values from the environment it runs in. So secrets
travel only as process environment: nothing is written into the workspace, and no
secrets file is needed.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping

from . import proc

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def parse_exports(text: str) -> dict[str, str]:
    """`export NAME=value` lines (shell-quoted values, as `fnox eval` prints them)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        if words[:1] == ["export"]:
            words = words[1:]
        for word in words:
            name, sep, value = word.partition("=")
            if sep and _NAME.match(name):
                found[name] = value
    return found


def from_fnox(cwd: str | None = None) -> dict[str, str]:
    """The variables `fnox eval` exports, or {} when fnox is not installed."""
    fnox = proc.which("fnox")
    if not fnox:
        return {}
    result = proc.run(
        [fnox, "eval"],
        cwd=cwd,
        timeout=60,
        hint="fnox could not load the secrets; check `fnox eval` by hand",
    )
    return parse_exports(result.stdout)


def secret_env(base: Mapping[str, str] | None = None, cwd: str | None = None) -> dict[str, str]:
    """The environment for `devcontainer up`: base (default os.environ) + fnox's exports."""
    env = dict(os.environ if base is None else base)
    env.update(from_fnox(cwd))
    return env
