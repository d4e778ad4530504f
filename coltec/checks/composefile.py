"""Compose files read the way `docker compose` reads them, for the policy.

YAML with anchors, merge keys (`<<`), `!reset` and `!override`; `include` of other
files; `extends` of a service in this or another file; `${VAR}`, `${VAR:-default}`,
`${VAR-default}`, `$$` interpolated from the project's `.env` and the environment.
Every value keeps its file and line. What cannot be read this way (too large, bad
YAML, an unknown tag, a remote include, an include cycle) is an error naming the file:
the policy refuses what it cannot see (there is no `docker compose` on the machines this
must work on to normalize it instead).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from coltec import jsonc
from coltec.checks.dockerfile import MAX_BYTES, expand, read_limited

MAX_NODES = 50_000
MAX_INCLUDES = 32
RESET = object()  # `!reset`: the value is dropped


class ComposeUnreadable(Exception):
    """A compose file the policy cannot read; the message names it."""


@dataclass
class ComposeFile:
    path: Path
    data: dict[str, Any]
    lines: dict[str, int]  # JSON path -> line

    def line(self, path: str) -> int | None:
        probe = path
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 0 else ""
        return None


@dataclass
class Project:
    """The files of one compose project, in the order compose reads them."""

    directory: Path  # relative paths in every file count from here
    env: dict[str, str]
    files: list[ComposeFile] = field(default_factory=list)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path, self.count, self.lines = path, 0, dict[str, int]()
        self.loader = yaml.SafeLoader("")

    def fail(self, node: yaml.Node, message: str) -> ComposeUnreadable:
        return ComposeUnreadable(f"{self.path}:{node.start_mark.line + 1}: {message}")

    def build(self, node: yaml.Node, path: str, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES or depth > 64:
            raise self.fail(node, "too large or too deep once aliases are expanded")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if node.tag == "!reset":
            return RESET
        if isinstance(node, yaml.MappingNode):
            out: dict[str, Any] = {}
            merged: list[yaml.Node] = []
            for key_node, value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge" or key_node.value == "<<":
                    merged += (
                        value_node.value
                        if isinstance(value_node, yaml.SequenceNode)
                        else [value_node]
                    )
                    continue
                key = str(key_node.value)
                out[key] = self.build(value_node, jsonc.child(path, key), depth + 1)
            for source in merged:  # keys written here win over merged ones
                extra = self.build(source, path, depth + 1)
                if not isinstance(extra, dict):
                    raise self.fail(source, "a merge key (<<) needs a mapping")
                for key, value in extra.items():
                    out.setdefault(key, value)
            return {k: v for k, v in out.items() if v is not RESET}
        if isinstance(node, yaml.SequenceNode):
            items = [
                self.build(n, jsonc.child(path, i), depth + 1) for i, n in enumerate(node.value)
            ]
            return [i for i in items if i is not RESET]
        if node.tag == "!override":
            plain = (not getattr(node, "style", None), False)
            node.tag = self.loader.resolve(yaml.ScalarNode, node.value, plain)  # type: ignore[no-untyped-call]
        elif not node.tag.startswith("tag:yaml.org,2002:"):
            raise self.fail(node, f"YAML tag {node.tag} is not one compose knows")
        try:
            return self.loader.construct_object(node)
        except (ValueError, yaml.YAMLError):
            return node.value


def _interpolate(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, str):
        return expand(value, env, dollar_escape=True)[0]
    if isinstance(value, list):
        return [_interpolate(v, env) for v in value]
    if isinstance(value, dict):
        return {k: _interpolate(v, env) for k, v in value.items()}
    return value


def load(path: Path, env: dict[str, str]) -> ComposeFile:
    """One compose file, interpolated; ComposeUnreadable when it cannot be read."""
    try:
        text = read_limited(path)
    except LookupError as exc:
        raise ComposeUnreadable(str(exc)) from None
    reader = _Reader(path)
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        why = str(exc).splitlines()[0]
        raise ComposeUnreadable(f"{path}: not YAML compose can read ({why})") from None
    data = reader.build(node, "$", 0) if node is not None else {}
    if not isinstance(data, dict):
        raise ComposeUnreadable(f"{path}: a compose file is a mapping")
    return ComposeFile(path, _interpolate(data, env), reader.lines)


def dotenv(directory: Path) -> dict[str, str]:
    """The project's .env (compose reads it from the project directory), then os.environ."""
    env: dict[str, str] = {}
    file = directory / ".env"
    if file.is_file() and file.stat().st_size <= MAX_BYTES:
        for raw in file.read_text(encoding="utf-8", errors="replace").splitlines():
            key, sep, value = raw.strip().partition("=")
            if sep and not key.startswith("#"):
                env[key.removeprefix("export ").strip()] = value.strip().strip("\"'")
    env.update(os.environ)
    return env


def project(paths: list[Path], env: dict[str, str] | None = None) -> Project:
    """Every file of the project: the given ones and what they `include`, recursively."""
    directory = paths[0].parent
    proj = Project(directory, dotenv(directory) if env is None else env)
    seen: set[Path] = set()

    def add(path: Path, depth: int) -> None:
        real = path.resolve()
        if real in seen:
            return
        if depth > MAX_INCLUDES:
            raise ComposeUnreadable(f"{path}: includes nested deeper than {MAX_INCLUDES}")
        seen.add(real)
        file = load(path, proj.env)
        proj.files.append(file)
        includes = file.data.get("include") or []
        for item in includes if isinstance(includes, list) else [includes]:
            targets = item.get("path") if isinstance(item, dict) else item
            for target in targets if isinstance(targets, list) else [targets]:
                if not isinstance(target, str) or "://" in target or target.startswith("git@"):
                    raise ComposeUnreadable(f"{path}: include {target!r} cannot be read here")
                add(path.parent / target, depth + 1)

    for path in paths:
        add(path, 0)
    return proj


def services(proj: Project) -> list[tuple[str, dict[str, Any], ComposeFile]]:
    """(name, definition, file) of every service in every file, `extends` followed.

    A service that extends another also carries the other's settings (as a separate
    entry with the other file), so nothing a base service asks for is missed.
    """
    out: list[tuple[str, dict[str, Any], ComposeFile]] = []
    loaded = {f.path.resolve(): f for f in proj.files}

    def base_of(name: str, svc: dict[str, Any], file: ComposeFile, depth: int) -> None:
        ext = svc.get("extends")
        if depth > MAX_INCLUDES or ext is None:
            return
        target = (
            ext if isinstance(ext, str) else ext.get("service") if isinstance(ext, dict) else None
        )
        other = file
        if isinstance(ext, dict) and isinstance(ext.get("file"), str):
            where = (file.path.parent / ext["file"]).resolve()
            if where not in loaded:
                loaded[where] = load(where, proj.env)
            other = loaded[where]
        found = (other.data.get("services") or {}).get(target) if isinstance(target, str) else None
        if not isinstance(found, dict):
            raise ComposeUnreadable(f"{file.path}: service '{name}' extends unknown {target!r}")
        out.append((str(target), found, other))
        base_of(str(target), found, other, depth + 1)

    for file in proj.files:
        table = file.data.get("services")
        for name, svc in table.items() if isinstance(table, dict) else []:
            if isinstance(svc, dict):
                out.append((str(name), svc, file))
                base_of(str(name), svc, file, 0)
    return out
