"""The deny table: every (rule, pattern) the engine must never be asked for, in one list
that cs:validate and the guard of cs:up match alike."""

from __future__ import annotations

import fnmatch
import os
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass

from coltec.checks.policy import Policy

ENGINE_SOCKET_RULE = "engine-socket"


@dataclass(frozen=True)
class Denial:
    rule: str
    pattern: str
    where: str  # the policy file:line (or built-in) that sets it


def engine_socket_patterns(docker_host: str | None) -> list[str]:
    """The socket of the engine cs:up talks to, and each folder above it (not /)."""
    if not docker_host or not docker_host.startswith("unix://"):
        return []
    path = posixpath.normpath(docker_host.removeprefix("unix://"))
    out = []
    while path not in ("/", ""):
        out.append(f"--volume={path}:*")
        path = posixpath.dirname(path)
    return out


def table(
    policy: Policy, exempt: Iterable[str] = (), docker_host: str | None = None
) -> list[Denial]:
    skip = set(exempt)
    out: list[Denial] = []
    for rule, setting in policy.deny_rules():
        if rule not in skip and isinstance(setting.value, list):
            out += [Denial(rule, str(p), setting.where) for p in setting.value]
    if "run-args" not in skip:
        out += [
            Denial("run-args", str(s.value), s.where) for s in policy.items("rules.denied_run_args")
        ]
    if ENGINE_SOCKET_RULE not in skip and policy.setting(f"rules.deny.{ENGINE_SOCKET_RULE}").value:
        host = docker_host if docker_host is not None else os.environ.get("DOCKER_HOST")
        out += [
            Denial(ENGINE_SOCKET_RULE, p, "the engine's own socket (DOCKER_HOST)")
            for p in engine_socket_patterns(host)
        ]
    return out


def first(tokens: Iterable[str], denials: list[Denial]) -> tuple[str, Denial] | None:
    """The first token a denial matches, and that denial."""
    for token in tokens:
        for d in denials:
            if fnmatch.fnmatchcase(token, d.pattern):
                return token, d
    return None
