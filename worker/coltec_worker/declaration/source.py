"""Read YAML, bounded, into JSON-shaped data that keeps the position of every value.

The reader is the first stage of the one pipeline (see pipeline.py), so it decides
what a declaration can be at all:

- at most MAX_BYTES of UTF-8 (a BOM is allowed), one document;
- plain JSON data: mappings with string keys (a scalar key is taken as written, as
  JSON would carry it: `1:` is the key "1"), lists, strings, numbers, booleans, null;
  a YAML 1.1 timestamp (`generated_at: 2025-11-28T09:11:06Z`) stays the text written,
  as YAML 1.2 and the predecessor's reader (serde_yaml) read it;
- anchors and aliases are allowed, but every alias counts as a copy: more than
  MAX_NODES values in total (an alias bomb) or nesting deeper than MAX_DEPTH is an
  error, found before anything walks the data;
- no explicit tags beyond the JSON ones (`!!binary`, `!!set`, `!!python/...`), no
  merge keys (`<<`), no complex keys, no duplicate keys.

Each refusal is one problem with file:line:col, so every entry point says the same.
"""

from __future__ import annotations

import os

import yaml

from coltec_worker.errors import ConfigError, Problem, UnreadableError
from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

try:  # the C parser is several times faster; fall back where libyaml is missing
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on the pyyaml build
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

Position = tuple[int, int]  # 1-based line, column
MAX_BYTES = 1 << 20  # a workspace spec is a few hundred bytes
MAX_NODES = 20_000  # values after expanding aliases
MAX_DEPTH = 64
TAG = "tag:yaml.org,2002:"
SCALAR_TAGS = frozenset(TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp"))


class Document:
    """Parsed data plus the position of each JSON path (`$`, `$.a.b[0]`)."""

    __slots__ = ("data", "file", "keys", "values")

    def __init__(self, file: str, data: Any = None) -> None:
        self.file, self.data = file, data
        self.values: dict[str, Position] = {}
        self.keys: dict[str, Position] = {}

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


def _pos(node: yaml.Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns the composed node graph into data, counting every value it produces."""

    def __init__(self, doc: Document, loader: Any) -> None:
        self.doc, self.loader, self.count = doc, loader, 0

    def fail(self, node: yaml.Node, path: str, message: str, hint: str) -> ConfigError:
        """One problem at `node`; `path` "$" for the whole document (a bomb, deep nesting)."""
        line, col = _pos(node)
        problem = Problem(self.doc.file, line, col, path, message, hint, "yaml")
        return ConfigError(f"{self.doc.file}:{line}:{col}: {message}", [problem], hint=hint)

    def build(self, node: yaml.Node, path: str, depth: int) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise self.fail(
                node,
                "$",
                f"the document expands to more than {MAX_NODES} values (an alias bomb?)",
                "write the values out; a workspace spec needs a few dozen",
            )
        if depth > MAX_DEPTH:
            raise self.fail(
                node,
                "$",
                f"nesting deeper than {MAX_DEPTH} levels",
                "a workspace spec is at most a few levels deep",
            )
        self.doc.values.setdefault(path, _pos(node))
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != TAG + "seq":
                raise self._tag(node, path)
            return [
                self.build(item, child_path(path, i), depth + 1)
                for i, item in enumerate(node.value)
            ]
        return self._scalar(node, path)

    def _tag(self, node: yaml.Node, path: str) -> ConfigError:
        tag = node.tag.replace(TAG, "!!")
        return self.fail(
            node,
            path,
            f"YAML tag {tag} is not allowed",
            "remove the tag: only strings, numbers, booleans, null, lists and mappings",
        )

    def _mapping(self, node: yaml.MappingNode, path: str, depth: int) -> dict[str, Any]:
        if node.tag != TAG + "map":
            raise self._tag(node, path)
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(
                    key_node, path, "a key is a list or mapping", "keys are plain words"
                )
            if key_node.tag == TAG + "merge":
                raise self.fail(
                    key_node,
                    path,
                    "merge keys (<<) are not supported",
                    "write the keys out (an anchor and alias for a whole value is fine)",
                )
            key = str(key_node.value)  # as written: `1:` is "1", as in JSON
            sub = child_path(path, key)
            if key in out:
                raise self.fail(
                    key_node,
                    sub,
                    f"duplicate key '{key}'",
                    "each key may appear once per mapping; remove one",
                )
            self.count += 1
            self.doc.keys.setdefault(sub, _pos(key_node))
            out[key] = self.build(value_node, sub, depth + 1)
        return out

    def _scalar(self, node: yaml.Node, path: str) -> Any:
        if node.tag not in SCALAR_TAGS:
            raise self._tag(node, path)
        if node.tag == TAG + "timestamp":
            return str(node.value)
        try:
            return self.loader.construct_object(node)
        except ValueError as exc:  # e.g. an integer of more than 4300 digits
            raise self.fail(
                node, path, f"unreadable number ({exc})", "write a smaller number"
            ) from None


def _syntax_problem(file: str, exc: yaml.YAMLError) -> ConfigError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        reason = (exc.problem or exc.context or "invalid YAML").replace("\n", " ")
        if "but found another document" in str(exc):
            reason = "more than one document (---)"
        hint = "check indentation and quoting around this line"
        if reason.startswith("more than one"):
            hint = "keep one document per file"
    else:  # e.g. a ReaderError: a character YAML does not allow
        line, col = 1, 1
        reason = " ".join(str(exc).replace('"<unicode string>"', "the file").split())
        hint = "remove control characters; save the file as plain UTF-8 text"
    problem = Problem(file, line, col, "$", f"YAML syntax error: {reason}", hint, "yaml")
    return ConfigError(f"{file}: YAML syntax error", [problem])


def parse_yaml(text: str, file: str) -> Document:
    """Parse one YAML document into JSON-shaped data; every refusal is a ConfigError."""
    doc = Document(file)
    try:
        loader = _Loader(text)
        try:
            node = loader.get_single_node()
            if node is not None:
                doc.data = _Builder(doc, loader).build(node, "$", 0)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise _syntax_problem(file, exc) from None
    return doc


def read_text(path: str | os.PathLike[str]) -> str:
    """The file's text: at most MAX_BYTES of UTF-8, else UnreadableError."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO nobody writes: no hang
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise UnreadableError(
            f"{path}: no such file", hint="give the path of an existing YAML file"
        ) from None
    except IsADirectoryError:
        raise UnreadableError(
            f"{path}: is a directory", hint="give the path of the YAML file inside it"
        ) from None
    except OSError as exc:
        raise UnreadableError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_BYTES:
        raise UnreadableError(
            f"{path}: larger than {MAX_BYTES // 1024} KiB",
            hint="a workspace spec is a few hundred bytes: is this the right file?",
        )
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableError(
            f"{path}: not UTF-8 (byte {exc.start})", hint="save the file as UTF-8"
        ) from None


def load_yaml(path: str | os.PathLike[str]) -> Document:
    """Read and parse a YAML file; an unreadable file is an UnreadableError."""
    return parse_yaml(read_text(path), os.fspath(path))
