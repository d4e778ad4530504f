"""The fast accept path of the JSON Schema check: is this data valid? (no jsonschema).

A small interpreter of the JSON Schema keywords our schemas use, with the semantics
of jsonschema's Draft 2020-12 validator: an integral float is an integer, a boolean
is not a number, `pattern` is ECMA-262 (`$` is the end of the string). Loading
jsonschema costs ~50 ms; this answers in well under 1 ms, and jsonschema is loaded
only to explain a file this rejects (validation.py). A keyword this does not know
makes `supported` fail at load, never a silent pass; tests keep the two in agreement
on every corpus file and on generated data.
"""

from __future__ import annotations

import json
import os
import re
from functools import cache

from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

# Keywords that only annotate.
ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default", "$defs"})
CHECKED = frozenset(
    {
        "type",
        "properties",
        "additionalProperties",
        "required",
        "enum",
        "const",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "items",
        "propertyNames",
        "$ref",
    }
)


class UnsupportedSchema(Exception):
    """The schema uses a keyword this checker does not implement."""


def schema_dir() -> str:
    """The packaged copy of schema/, or the repository's own when run from a checkout."""
    package = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))  # coltec_worker/
    packaged = os.path.join(package, "schemas")
    if os.path.exists(os.path.join(packaged, "workspace-spec.schema.json")):
        return packaged
    return os.path.join(os.path.dirname(os.path.dirname(package)), "schema")


@cache
def load_schema(name: str) -> dict[str, Any]:
    with open(os.path.join(schema_dir(), name), encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


@cache
def ecma_pattern(pattern: str) -> re.Pattern[str]:
    # ECMA-262: an unescaped '$' is the end of the input; Python's also matches
    # before a final newline.
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


def _is_type(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    if isinstance(value, bool):
        return False
    if kind == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if kind == "number":
        return isinstance(value, int | float)
    raise UnsupportedSchema(f"type {kind!r}")


def _equal(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but True is not 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


class Checker:
    """Checks data against one schema file; other files resolve by `$id`-relative name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def _resolve(self, ref: str, base: str) -> tuple[dict[str, Any], str]:
        file, _, pointer = ref.partition("#")
        file = file or base
        node: Any = load_schema(file)
        for part in [p for p in pointer.split("/") if p]:
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, file

    def first_error(self, data: Any) -> str | None:
        """The JSON path of the first violation, or None when `data` is valid."""
        return self._check(load_schema(self.name), data, "$", self.name)

    def _check(self, schema: dict[str, Any], value: Any, path: str, base: str) -> str | None:
        unknown = set(schema) - CHECKED - ANNOTATIONS
        if unknown:
            raise UnsupportedSchema(", ".join(sorted(unknown)))
        if "$ref" in schema:
            target, file = self._resolve(schema["$ref"], base)
            bad = self._check(target, value, path, file)
            if bad:
                return bad
        kind = schema.get("type")
        if kind is not None:
            kinds = kind if isinstance(kind, list) else [kind]
            if not any(_is_type(value, k) for k in kinds):
                return path
        if "enum" in schema and not any(_equal(value, e) for e in schema["enum"]):
            return path
        if "const" in schema and not _equal(value, schema["const"]):
            return path
        if isinstance(value, str):
            return self._string(schema, value, path)
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "minimum" in schema and value < schema["minimum"]:
                return path
            if "maximum" in schema and value > schema["maximum"]:
                return path
            return None
        if isinstance(value, list) and "items" in schema:
            for i, item in enumerate(value):
                bad = self._check(schema["items"], item, f"{path}[{i}]", base)
                if bad:
                    return bad
        if isinstance(value, dict):
            return self._object(schema, value, path, base)
        return None

    def _string(self, schema: dict[str, Any], value: str, path: str) -> str | None:
        if "pattern" in schema and not ecma_pattern(schema["pattern"]).search(value):
            return path
        if "minLength" in schema and len(value) < schema["minLength"]:
            return path
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return path
        return None

    def _object(
        self, schema: dict[str, Any], value: dict[str, Any], path: str, base: str
    ) -> str | None:
        for key in schema.get("required", ()):
            if key not in value:
                return path
        props = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        names = schema.get("propertyNames")
        for key, item in value.items():
            sub = f"{path}.{key}"
            if names is not None and self._check(names, key, sub, base):
                return sub
            if key in props:
                bad = self._check(props[key], item, sub, base)
            elif extra is False:
                return sub
            elif isinstance(extra, dict):
                bad = self._check(extra, item, sub, base)
            else:
                bad = None
            if bad:
                return bad
        return None


def first_error(data: Any, schema_name: str) -> str | None:
    """None when `data` is valid against the schema file `schema_name`, else a JSON path."""
    return Checker(schema_name).first_error(data)
