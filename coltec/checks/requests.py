"""What a workspace asks of the engine, read from its files the way the devcontainer CLI
and compose read them: one Request per thing asked, with its file, line and JSON path.

devcontainer.json: `runArgs`, `mounts`, `workspaceMount`, `privileged` (any value
JavaScript takes for true: `"true"`, `"false"`, `1`), `capAdd` and `securityOpt` (a
list or one string), `${localEnv:X:default}` both as set now and as its default;
local Features' own `privileged`, `capAdd`, `securityOpt`, `mounts`; every compose
service (see coltec.checks.composefile). A file that cannot be read is a Request too:
`unreadable`, which no policy allows.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coltec import jsonc
from coltec.checks import dockerargs
from coltec.checks.dockerfile import read_limited

UNREADABLE = "unreadable"


@dataclass(frozen=True)
class Request:
    tokens: tuple[str, ...]  # canonical docker options; ("unreadable",) for a file not read
    given: str  # as written
    file: Path
    line: int | None
    path: str  # JSON path inside `file`


@dataclass
class Config:
    """devcontainer.json as the CLI reads it (None data: it could not be read)."""

    file: Path
    data: dict[str, Any] | None
    lines: dict[str, int]
    problem: str = ""

    def line(self, path: str) -> int | None:
        probe = path
        while probe and probe not in self.lines:
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return self.lines.get(probe) if probe else None


def read_config(file: Path) -> Config:
    try:
        text = read_limited(file)
        data = jsonc.loads(text)
    except LookupError as exc:
        return Config(file, None, {}, str(exc))
    except ValueError as exc:
        # The CLI's parser tolerates what json does not (a missing comma): what it
        # would then run cannot be known here.
        return Config(file, None, {}, f"{file} is not valid JSON with comments ({exc})")
    if not isinstance(data, dict):
        return Config(file, None, {}, f"{file} is not a JSON object")
    return Config(file, data, jsonc.positions(text))


def truthy(value: Any) -> bool:
    """JavaScript's truth, as the CLI tests `privileged`: "false" and 1 are true."""
    if isinstance(value, float) and value != value:  # NaN
        return False
    return value not in (None, False, 0, "")


_VAR = re.compile(
    r"\$\{(?P<kind>localEnv|env|localWorkspaceFolder|localWorkspaceFolderBasename)"
    r"(?::(?P<name>[^}:]*))?(?::(?P<default>[^}]*))?\}"
)


def expansions(text: str, workspace: Path) -> list[str]:
    """`text` with devcontainer's host variables expanded: as the environment is now, and
    with every `${localEnv:X:default}` at its default (the environment of `cs:up` may
    differ). One or two strings."""

    def sub(use_env: bool) -> Callable[[re.Match[str]], str]:
        def one(m: re.Match[str]) -> str:
            if m["kind"] == "localWorkspaceFolder":
                return str(workspace)
            if m["kind"] == "localWorkspaceFolderBasename":
                return workspace.name
            value = os.environ.get(m["name"] or "") if use_env else None
            return value if value is not None else (m["default"] or "")

        return one

    out = [_VAR.sub(sub(True), text)]
    other = _VAR.sub(sub(False), text)
    return out if other in out else [*out, other]


def _strings(value: Any) -> list[str]:
    """A list of strings, or one string (the CLI takes both)."""
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


def container_requests(
    data: dict[str, Any],
    file: Path,
    line: Callable[[str], int | None],
    workspace: Path,
    base: str = "$",
) -> list[Request]:
    """Requests of devcontainer.json or of one Feature's / image's metadata."""
    out: list[Request] = []
    resolve = True

    def add(path: str, given: str, tokens: tuple[str, ...]) -> None:
        if tokens:
            out.append(Request(tokens, given, file, line(path), path))

    run_args = data.get("runArgs")
    if isinstance(run_args, list):
        spelled = [expansions(str(a), workspace) for a in run_args]
        for variant in dict.fromkeys((tuple(e[0] for e in spelled), tuple(e[-1] for e in spelled))):
            options, _ = dockerargs.parse(list(variant), workspace, resolve=resolve)
            for opt in options:
                add(jsonc.child(f"{base}.runArgs", opt.index), opt.given, opt.tokens)
    mounts = data.get("mounts")
    for i, mount in enumerate(mounts if isinstance(mounts, list) else [mounts] if mounts else []):
        # a single string is one mount: its own path is $.mounts, not $.mounts[0]
        here = jsonc.child(f"{base}.mounts", i) if isinstance(mounts, list) else f"{base}.mounts"
        if isinstance(mount, dict):
            mount = (
                f"type={mount.get('type')},src={mount.get('source', '')},dst={mount.get('target')}"
            )
        for text in expansions(str(mount), workspace):
            add(here, str(mount), dockerargs.mount_tokens(text, workspace, resolve=resolve))
    if isinstance(data.get("workspaceMount"), str):
        for text in expansions(data["workspaceMount"], workspace):
            tokens = dockerargs.mount_tokens(text, workspace, resolve=resolve)
            add(f"{base}.workspaceMount", data["workspaceMount"], tokens)
    if "privileged" in data and truthy(data["privileged"]):
        add(
            f"{base}.privileged",
            f'"privileged": {json.dumps(data["privileged"])}',
            ("--privileged",),
        )
    for key, flag in (("capAdd", "--cap-add"), ("securityOpt", "--security-opt")):
        for i, value in enumerate(_strings(data.get(key))):
            here = f"{base}.{key}" if isinstance(data.get(key), str) else f"{base}.{key}[{i}]"
            for text in expansions(value, workspace):
                add(here, f"{key}: {value}", dockerargs.canonical(flag, text))
    return out


def unreadable(file: Path, why: str, line: int | None = None, path: str = "$") -> Request:
    return Request((UNREADABLE,), why, file, line, path)
