"""Load YAML keeping the position of every value, so errors can say file:line:col."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import ConfigError, Problem, UnreadableError

try:  # the C loader is several times faster; fall back where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the pyyaml build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Position = tuple[int, int]  # 1-based line, column


@dataclass
class Document:
    """Parsed data plus the position of each JSON path (`$`, `$.a.b[0]`)."""

    file: str
    data: Any
    values: dict[str, Position] = field(default_factory=dict)
    keys: dict[str, Position] = field(default_factory=dict)

    def position(self, path: str, *, key: bool = False) -> Position | None:
        """Nearest known position for `path`: itself, else its closest ancestor."""
        table = self.keys if key else self.values
        probe = path
        while True:
            if probe in table:
                return table[probe]
            if not key and probe in self.keys:
                return self.keys[probe]
            parent = parent_path(probe)
            if parent == probe:
                return self.values.get("$")
            probe = parent

    def problem(
        self, path: str, message: str, hint: str = "", rule: str = "", *, key: bool = False
    ) -> Problem:
        pos = self.position(path, key=key)
        line, col = pos if pos else (None, None)
        return Problem(self.file, line, col, path, message, hint, rule)


def parent_path(path: str) -> str:
    if path.endswith("]"):
        return path[: path.rindex("[")]
    if "." in path:
        return path[: path.rindex(".")]
    return path


def child_path(path: str, part: str | int) -> str:
    return f"{path}[{part}]" if isinstance(part, int) else f"{path}.{part}"


def json_path(parts: Any) -> str:
    path = "$"
    for part in parts:
        path = child_path(path, part)
    return path


def _index(node: yaml.Node, path: str, doc: Document) -> None:
    doc.values[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            sub = child_path(path, key)
            if key in seen:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                raise ConfigError(
                    f"duplicate key '{key}'",
                    [
                        Problem(
                            doc.file,
                            line,
                            col,
                            sub,
                            f"duplicate key '{key}'",
                            "each key may appear once per mapping; remove one",
                            "yaml",
                        )
                    ],
                )
            seen.add(key)
            doc.keys[sub] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            _index(value_node, sub, doc)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _index(item, child_path(path, i), doc)


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document; syntax errors become a ConfigError with line and column."""
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        reason = exc.problem or exc.context or "invalid YAML"
        problem = Problem(
            file,
            line,
            col,
            "$",
            f"YAML syntax error: {reason}",
            "check indentation and quoting around this line",
            "yaml",
        )
        raise ConfigError(f"{file}: YAML syntax error", [problem]) from None
    except yaml.YAMLError as exc:
        problem = Problem(file, None, None, "$", f"YAML error: {exc}", "", "yaml")
        raise ConfigError(f"{file}: YAML error", [problem]) from None
    doc = Document(file, data)
    if node is not None:
        _index(node, "$", doc)
    return doc


def load_yaml(path: str | Path) -> Document:
    """Read and parse a YAML file; an unreadable file is a ConfigError."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UnreadableError(
            f"{path}: no such file", hint="give the path of an existing YAML file"
        ) from None
    except IsADirectoryError:
        raise UnreadableError(
            f"{path}: is a directory", hint="give the path of the YAML file inside it"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UnreadableError(f"{path}: cannot read: {exc}") from None
    return parse_yaml(text, str(path))
