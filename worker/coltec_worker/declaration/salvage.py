"""What the semantic rules can still check in a file the schema refused.

A type error in one field must not hide the rule problems of every other field (one run
reports every problem of a file). The schema's problems name the values it refused; a
copy of the data without them — defaults stand in, a sync item that cannot be built is
left out — is what the rules then see. Rule findings are mapped back to the file's own
JSON paths, and none is reported where the schema already spoke or a stand-in was used.
"""

from __future__ import annotations

import copy
import re

from coltec_worker.declaration.spec import WorkspaceSpec, spec_from_dict, sync_path_from_dict
from coltec_worker.errors import ConfigError, Problem
from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from coltec_worker.declaration.rules import Finding

SYNC = "$.persistence.sync"
_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_SYNC_ITEM = re.compile(r"^\$\.persistence\.sync\[(\d+)\]")
_SYNC_ITEM_ANYWHERE = re.compile(r"\$\.persistence\.sync\[\d+\]")
# Required identity a refused file may lack: valid slugs stand in so the rest is checked.
STAND_INS = {("name",): "workspace", ("metadata", "org"): "org", ("metadata", "project"): "project"}


class Salvage:
    """The spec the rules can check, and how its paths map back to the file's."""

    __slots__ = ("_dropped", "_kept", "_reported", "spec")

    def __init__(self, spec: WorkspaceSpec | None, kept: list[int], reported: set[str]) -> None:
        self.spec, self._kept, self._reported = spec, kept, reported
        self._dropped = any(_SYNC_ITEM.fullmatch(r) for r in reported)

    def file_path(self, path: str) -> str:
        """A path in the salvaged spec -> the path in the file."""
        match = _SYNC_ITEM.match(path)
        if match is None or int(match[1]) >= len(self._kept):
            return path
        return f"{SYNC}[{self._kept[int(match[1])]}]{path[match.end() :]}"

    def in_file(self, finding: Finding) -> Finding:
        """A rule finding with its path, and the paths its message names, in the file."""
        message = _SYNC_ITEM_ANYWHERE.sub(lambda m: self.file_path(m[0]), finding.message)
        return finding._replace(path=self.file_path(finding.path), message=message)

    def already_said(self, path: str) -> bool:
        """True where the schema reported this value (or a parent), or a stand-in is; the
        sync list as a whole when an item of it was left out (it is not empty)."""
        if path == SYNC and self._dropped:
            return True
        return any(path == r or path.startswith((r + ".", r + "[")) for r in self._reported)


def _parts(path: str) -> list[str | int]:
    return [key if key else int(index) for key, index in _PART.findall(path.removeprefix("$"))]


def _drop(data: Any, parts: list[str | int], reported: set[str]) -> None:
    """Remove the value at `parts`: a key, a sync item (left as None: indexes stay), or
    the whole list another list item is in (its default, the empty list, stands in)."""
    if isinstance(parts[-1], int) and parts[:-1] != ["persistence", "sync"]:
        parts = parts[:-1]
        reported.add("$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts))
    if not parts:
        return
    node = data
    for part in parts[:-1]:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return
    last = parts[-1]
    if isinstance(node, dict) and isinstance(last, str):
        node.pop(last, None)
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = None


def salvage(data: Any, problems: list[Problem]) -> Salvage:
    """The spec of `data` without what `problems` (the schema's) refused."""
    reported = {p.path for p in problems if p.rule != "required"}
    if not problems:
        try:
            return Salvage(spec_from_dict(data), [], reported)
        except ConfigError:
            return Salvage(None, [], reported)
    if not isinstance(data, dict):
        return Salvage(None, [], reported)
    data = copy.deepcopy(data)
    for path in sorted(reported, key=lambda p: -len(_parts(p))):
        if parts := _parts(path):
            _drop(data, parts, reported)
    for where, value in STAND_INS.items():
        node = data
        for part in where[:-1]:
            node = node.setdefault(part, {}) if isinstance(node, dict) else None
        if isinstance(node, dict) and not isinstance(node.get(where[-1]), str):
            node[where[-1]] = value
            reported.add("$." + ".".join(where))
    kept: list[int] = []
    persistence = data.get("persistence")
    items = persistence.get("sync") if isinstance(persistence, dict) else None
    if isinstance(items, list):
        usable = []
        for i, item in enumerate(items):
            try:
                sync_path_from_dict(item, f"{SYNC}[{i}]")
            except ConfigError:
                reported.add(f"{SYNC}[{i}]")
                continue
            kept.append(i)
            usable.append(item)
        persistence["sync"] = usable
    try:
        return Salvage(spec_from_dict(data), kept, reported)
    except ConfigError:  # a shape the stand-ins do not cover: the schema's problems stand
        return Salvage(None, kept, reported)
