"""Full validation of a declaration: JSON Schema + semantic rules, all problems at once.

Used by `coltec-validate`, `invoke validate` and `coltec-worker --validate-only`, so
the verdict is the same everywhere. Imports jsonschema lazily: the daemon never
loads this module's schema half.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import cache

from coltec_worker.declaration import rules
from coltec_worker.declaration.schemacheck import ecma_pattern, first_error, load_schema
from coltec_worker.declaration.source import Document, child_path, json_path, load_yaml
from coltec_worker.declaration.spec import (
    UserConfig,
    WorkspaceSpec,
    user_config_from_dict,
)
from coltec_worker.errors import ConfigError, Problem, UnreadableError
from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from coltec_worker.declaration.compiled import Plan

SPEC_SCHEMA = "workspace-spec.schema.json"
USER_SCHEMA = "user-config.schema.json"
SLUG_PATTERN = "^[a-z0-9][a-z0-9-]*$"
PATTERN_HINTS = {
    SLUG_PATTERN: "use lowercase letters, digits and '-', starting with a letter or digit",
    "^[A-Za-z0-9_]+$": "use letters, digits and '_'",
    "^[A-Za-z0-9][A-Za-z0-9_.-]*$": "use letters, digits, '_', '.', '-'",
    "^[a-z0-9-]*$": "use lowercase letters, digits and '-'",
    "^[a-z][a-z0-9_]*$": "use lowercase letters, digits and '_', starting with a letter",
    "^[A-Za-z_][A-Za-z0-9_]*$": "use letters, digits and '_', not starting with a digit",
    "^([a-z0-9][a-z0-9._-]*)?$": "use lowercase letters, digits, '.', '_' and '-'",
}
# Values under these keys may be secrets: messages never quote them.
SECRET_KEYS = frozenset({"password_env"})
JSON_TYPES = {
    dict: "object",
    list: "array",
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


class ValidationReport:
    """The verdict for one file. Problems are values; the edge renders them."""

    __slots__ = ("file", "plan", "problems", "spec")

    def __init__(self, file: str, problems: list[Problem] | None = None) -> None:
        self.file = file
        self.problems: list[Problem] = [] if problems is None else problems
        self.spec: WorkspaceSpec | None = None
        # What the daemon runs (pipeline.validate_file); None while there are problems.
        self.plan: Plan | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


@cache
def _validator(name: str) -> Any:
    import jsonschema
    from referencing import Registry, Resource

    registry: Registry[Any] = Registry()
    for other in (SPEC_SCHEMA, USER_SCHEMA):
        schema = load_schema(other)
        registry = registry.with_resource(schema["$id"], Resource.from_contents(schema))
    base = jsonschema.validators.validator_for(load_schema(name))
    cls = jsonschema.validators.extend(base, {"pattern": _ecma_pattern})  # type: ignore[no-untyped-call]
    return cls(load_schema(name), registry=registry)


def _ecma_pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    """`pattern` with ECMA-262 anchors, as JSON Schema specifies and ajv does.

    Python's '$' also matches before a final newline, so "acme\n" would pass
    ^[a-z0-9-]*$; an unescaped '$' here means the end of the string only.
    """
    import jsonschema

    if validator.is_type(instance, "string") and not ecma_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


def _known_keys(schema_node: dict[str, Any]) -> list[str]:
    return sorted(schema_node.get("properties", {}))


def schema_problems(doc: Document, schema_name: str) -> list[Problem]:
    """Every JSON Schema error of `doc`, with a position and a hint."""
    out: list[Problem] = []
    errors = sorted(
        _validator(schema_name).iter_errors(doc.data),
        key=lambda e: (list(map(str, e.absolute_path)), e.validator),
    )
    for err in errors:
        path = json_path(err.absolute_path)
        kind = err.validator
        if kind == "additionalProperties" and isinstance(err.instance, dict):
            known = _known_keys(err.schema)
            for key in sorted(set(err.instance) - set(known), key=str):
                close = _close(str(key), known, cutoff=0.5)
                hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
                out.append(
                    doc.problem(
                        child_path(path, str(key)),
                        f"unknown key '{key}'",
                        hint,
                        "additionalProperties",
                        key=True,
                    )
                )
            continue
        if "propertyNames" in err.relative_schema_path:
            # The instance is the offending key itself: point at that key.
            out.append(
                doc.problem(
                    child_path(path, str(err.instance)),
                    f"key {_shown(err.instance)} does not match {err.validator_value}",
                    PATTERN_HINTS.get(err.validator_value, "rename the key to match the pattern"),
                    "propertyNames",
                    key=True,
                )
            )
            continue
        secret = bool(err.absolute_path) and err.absolute_path[-1] in SECRET_KEYS
        message, hint = _describe(err, secret=secret)
        out.append(doc.problem(path, message, hint, str(kind)))
    return out


def _close(word: str, choices: list[str], cutoff: float = 0.6) -> list[str]:
    """The closest choice for a hint (difflib loads only to explain an invalid file)."""
    import difflib

    return difflib.get_close_matches(word, choices, n=1, cutoff=cutoff)


def _shown(value: Any, limit: int = 60) -> str:
    """A value as JSON on one line (dates and other YAML-only types as strings)."""
    text = json.dumps(value, default=str, ensure_ascii=False)
    text = rules.shown(text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _type_name(value: Any) -> str:
    return JSON_TYPES.get(type(value), type(value).__name__)


def _describe(err: Any, *, secret: bool = False) -> tuple[str, str]:
    kind, value, expected = err.validator, err.instance, err.validator_value
    if secret:  # never echo what may be a password
        return (
            f"invalid {_type_name(value)} value (not shown: it may be a secret)",
            "write the name of an environment variable, e.g. COLTEC_CRYPT_PASSWORD",
        )
    if kind == "required":
        # jsonschema reports each missing key as its own error: "'name' is a required property"
        missing = [k for k in expected if isinstance(value, dict) and k not in value]
        named = [k for k in missing if err.message == f"{k!r} is a required property"]
        name = (named or missing or ["?"])[0]
        return f"missing required key '{name}'", f"add '{name}:' here"
    if kind == "const":
        return (
            f"{_shown(value)} is not supported; the only value is {json.dumps(expected)}",
            f"write {expected}, or remove the key for the default",
        )
    if kind == "enum":
        choices = ", ".join(map(str, expected))
        close = _close(str(value), list(map(str, expected)))
        return (
            f"{_shown(value)} is not one of: {choices}",
            f"did you mean '{close[0]}'?" if close else f"use one of: {choices}",
        )
    if kind == "type":
        return (
            f"expected {expected}, got {_type_name(value)}"
            + ("" if value is None else f" ({_shown(value, 40)})"),
            "fill in the value or remove the key"
            if value is None
            else "fix the value's type; quote strings that look like numbers or dates",
        )
    if kind == "pattern":
        return (
            f"{_shown(value)} does not match {expected}",
            PATTERN_HINTS.get(expected, "change the value to match the pattern"),
        )
    if kind in ("minimum", "maximum"):
        word = "at least" if kind == "minimum" else "at most"
        if kind == "minimum" and err.absolute_path and err.absolute_path[-1] == "interval":
            return f"interval {value}s is below {expected}s", f"use {word} {expected} (seconds)"
        return f"{value} is out of range", f"use a value {word} {expected}"
    if kind in ("minLength", "maxLength"):
        return err.message, "shorten or fill in the value"
    return err.message, ""


def default_user_config_path(
    env: Mapping[str, str] | None = None, home: str | os.PathLike[str] | None = None
) -> str | None:
    """COLTEC_USER_CONFIG (empty: none), else ~/.config/coltec/user.yaml when present."""
    env = os.environ if env is None else env
    explicit = env.get("COLTEC_USER_CONFIG")
    if explicit is not None:
        return explicit or None
    home = os.path.expanduser("~") if home is None else os.fspath(home)
    path = os.path.join(home, ".config", "coltec", "user.yaml")
    return path if os.path.exists(path) else None


def check_document(doc: Document, schema_name: str) -> list[Problem]:
    """Schema problems, or [] — the data is then safe to build a model from."""
    if doc.data is None:
        # An empty file has no node to point at; its first line stands for it.
        hint = "start from the template's workspace-spec.yaml"
        if schema_name == USER_SCHEMA:
            hint = "write at least user_id: <you>, or remove the file"
        return [Problem(doc.file, 1, 1, "$", "the file is empty", hint, "empty")]
    where = first_error(doc.data, schema_name)  # the fast accept path: no jsonschema
    if where is None:
        return []
    try:
        problems = schema_problems(doc, schema_name)
    except ImportError:  # jsonschema is the `validate` extra: say where, without detail
        hint = "pip install 'coltec-worker[validate]' for a full explanation"
        return [doc.problem(where, "does not match the schema", hint, "schema")]
    # The two checkers agree (tests keep them so); should they not, the file is
    # still refused, never run.
    return problems or [doc.problem(where, "does not match the schema", "", "schema")]


def validate_user_file(
    path: str | os.PathLike[str],
) -> tuple[UserConfig | None, list[Problem], Document | None]:
    try:
        doc = load_yaml(path)
    except UnreadableError:
        raise  # to the edge: exit 2
    except ConfigError as exc:
        return None, exc.problems, None
    problems = check_document(doc, USER_SCHEMA)
    if problems:
        return None, problems, doc
    return user_config_from_dict(doc.data), [], doc
