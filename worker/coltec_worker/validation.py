"""Full validation of a declaration: JSON Schema + semantic rules, all problems at once.

Used by `coltec-validate`, `invoke validate` and `coltec-worker --validate-only`, so
the verdict is the same everywhere. Imports jsonschema lazily: the daemon never
loads this module's schema half.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from . import rules
from .errors import ConfigError, Problem, UnreadableError
from .source import Document, child_path, json_path, load_yaml
from .spec import (
    UserConfig,
    WorkspaceSpec,
    spec_from_dict,
    user_config_from_dict,
)

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


@dataclass
class Report:
    """The verdict for one file. Problems are values; the edge renders them."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    spec: WorkspaceSpec | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def schema_dir() -> Path:
    """The packaged copy of schema/, or the repository's own when run from a checkout."""
    # The wheel puts them beside this module (no importlib.resources: ~7 ms to import).
    packaged = Path(__file__).resolve().parent / "schemas"
    if (packaged / SPEC_SCHEMA).exists():
        return packaged
    return Path(__file__).resolve().parents[2] / "schema"


@cache
def load_schema(name: str) -> dict[str, Any]:
    with open(schema_dir() / name, encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


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

    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"(?<!\\)\$", r"\\Z", pattern))


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
                close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.5)
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
        missing = [k for k in expected if isinstance(value, dict) and k not in value]
        name = missing[0] if missing else "?"
        return f"missing required key '{name}'", f"add '{name}:' here"
    if kind == "const":
        return (
            f"{_shown(value)} is not supported; the only value is {json.dumps(expected)}",
            f"write {expected}, or remove the key for the default",
        )
    if kind == "enum":
        choices = ", ".join(map(str, expected))
        close = difflib.get_close_matches(str(value), list(map(str, expected)), n=1)
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
        return f"{value} is out of range", f"use a value {word} {expected}"
    if kind in ("minLength", "maxLength"):
        return err.message, "shorten or fill in the value"
    return err.message, ""


def rule_problems(doc: Document, spec: WorkspaceSpec, user_id: str) -> list[Problem]:
    return [doc.problem(f.path, f.message, f.hint, f.rule) for f in rules.check_spec(spec, user_id)]


def default_user_config_path() -> Path | None:
    """COLTEC_USER_CONFIG, else ~/.config/coltec/user.yaml; None when there is none."""
    explicit = os.environ.get("COLTEC_USER_CONFIG")
    if explicit is not None:
        return Path(explicit) if explicit else None
    path = Path.home() / ".config" / "coltec" / "user.yaml"
    return path if path.exists() else None


def check_document(doc: Document, schema_name: str) -> list[Problem]:
    """Schema problems, or [] — the data is then safe to build a model from."""
    if doc.data is None:
        # An empty file has no node to point at; its first line stands for it.
        hint = "start from the template's workspace-spec.yaml"
        if schema_name == USER_SCHEMA:
            hint = "write at least user_id: <you>, or remove the file"
        return [Problem(doc.file, 1, 1, "$", "the file is empty", hint, "empty")]
    return schema_problems(doc, schema_name)


def validate_user_file(path: Path) -> tuple[UserConfig | None, list[Problem], Document | None]:
    try:
        doc = load_yaml(path)
    except UnreadableError:
        raise
    except ConfigError as exc:
        return None, exc.problems, None
    problems = check_document(doc, USER_SCHEMA)
    if problems:
        return None, problems, doc
    return user_config_from_dict(doc.data), [], doc


def validate_file(
    path: str | Path, user_config: Path | None = None, *, with_user: bool = True
) -> Report:
    """The verdict for one workspace-spec.yaml (merged with the user's config if any).

    Raises UnreadableError when the file cannot be read (exit 2 at the edge).
    """
    report = Report(str(path))
    try:
        doc = load_yaml(path)
    except UnreadableError:
        raise
    except ConfigError as exc:
        report.problems = exc.problems
        return report
    report.problems = check_document(doc, SPEC_SCHEMA)
    spec: WorkspaceSpec | None = None
    try:  # semantic rules run too where the data has usable types: all errors at once
        spec = spec_from_dict(doc.data)
    except ConfigError:
        spec = None
    user: UserConfig | None = None
    user_doc: Document | None = None
    user_path = (
        user_config
        if user_config is not None
        else (default_user_config_path() if with_user else None)
    )
    if user_path is not None:
        user, user_problems, user_doc = validate_user_file(user_path)
        report.problems += user_problems
    if spec is None:
        return report
    reported = {p.path for p in report.problems}
    report.problems += [
        p
        for p in rule_problems(doc, spec, user.user_id if user else "user")
        if p.path not in reported
    ]
    if user and user_doc and user.extra_sync_paths:
        values = spec.placeholder_values(user.user_id or "user")
        taken = [
            (f"{doc.file}::$.persistence.sync[{i}]", s, rules.resolve_checked(s, values)[0])
            for i, s in enumerate(spec.persistence.sync)
        ]
        for f in rules.check_sync_paths(user.extra_sync_paths, "$.extra_sync_paths", values, taken):
            report.problems.append(user_doc.problem(f.path, f.message, f.hint, f.rule))
        spec = spec.with_extra_paths(user.extra_sync_paths)
    report.problems.sort(key=lambda p: (p.file != report.file, p.file, p.line or 0, p.col or 0))
    report.spec = spec if report.ok else None
    return report
