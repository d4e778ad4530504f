"""Reading plain data into model records: typed getters and the schema's own defaults.

The builders (spec.py, storagespec.py, containerspec.py) trust the shape only as far
as they must: a wrong type raises ConfigError (the daemon does not import jsonschema;
`--validate-only` does the full check). Every default and bound is the schema's
(`schema_property`), so a record's default is read from schema/, never retyped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from coltec_worker.declaration.schemacheck import load_schema
from coltec_worker.errors import ConfigError
from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")

SPEC_SCHEMA = "workspace-spec.schema.json"


def schema_property(definition: str, name: str) -> dict[str, Any]:
    """The schema of property `name` of `$defs/<definition>` ("" for the root object,
    "persistence" / "networking" / "metadata" for the root's sections)."""
    schema = load_schema(SPEC_SCHEMA)
    if definition == "":
        node = schema
    elif definition in schema["properties"] and "$ref" not in schema["properties"][definition]:
        node = schema["properties"][definition]
    else:
        node = schema["$defs"][definition]
    prop: dict[str, Any] = node["properties"][name]
    ref = prop.get("$ref", "")
    if ref.startswith("#/"):
        target: Any = schema
        for part in ref[2:].split("/"):
            target = target[part]
        prop = target
    return prop


def schema_default(definition: str, name: str) -> Any:
    """The schema's default of one property; lists come back as tuples (records hold tuples)."""
    value = schema_property(definition, name).get("default")
    return tuple(value) if isinstance(value, list) else value


def get(
    data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any
) -> Any:
    value = data.get(key, default)
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 300.0 is the integer 300
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(
            f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}"
        )
    return value


def optional(data: Mapping[str, Any], key: str, kind: type, where: str, default: Any = None) -> Any:
    """`get`, where null (or a missing key) means `default`."""
    if data.get(key) is None:
        return default
    return get(data, key, kind, where, default)


def mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return tuple(value)


def items(value: Any, where: str, build: Callable[[Any, str], T]) -> tuple[T, ...]:
    """Each item of a list built with `build(item, json path)`; null is the empty list."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ConfigError(f"{where}: expected a list")
    return tuple(build(item, f"{where}[{i}]") for i, item in enumerate(value))
