"""The predecessor's schema options of `coltec-validate`: --schema FILE, --schema-only and
--generate-schema.

- `--schema-only`: the pipeline's schema stage alone (the same problems the full check
  reports for the schema), no semantic rules, user config or environment.
- `--schema FILE`: the declaration checked against FILE (an org's stricter copy, say) in
  place of the built-in schema. Without --schema-only the full verdict is added: the
  semantic rules read the built-in shape, so it must hold too.
- `--generate-schema`: the built-in schema (schema/workspace-spec.schema.json, the one
  source of the declaration's shape), printed as JSON.

Exit codes as validate_cmd: 0 valid, 1 invalid, 2 unreadable file, schema or usage.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from coltec_worker.cli.report import report_json, report_text
from coltec_worker.declaration.schemacheck import load_schema
from coltec_worker.declaration.source import Document, json_path, load_yaml
from coltec_worker.declaration.validation import SPEC_SCHEMA, ValidationReport, check_document
from coltec_worker.errors import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    ConfigError,
    Problem,
    UnreadableError,
    print_error,
)
from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any


def generate_schema() -> int:
    print(json.dumps(load_schema(SPEC_SCHEMA), indent=2))
    return EXIT_OK


def load_json_schema(path: str) -> Any:
    """The validator of the schema in `path`. UnreadableError (exit 2) naming what is wrong."""
    hint = "give a JSON Schema file (--generate-schema prints the built-in one)"
    try:
        with open(path, encoding="utf-8") as fh:
            schema = json.load(fh)
    except OSError as exc:
        raise UnreadableError(f"--schema {path}: {exc.strerror or exc}", hint=hint) from None
    except UnicodeDecodeError:
        raise UnreadableError(f"--schema {path}: not UTF-8 text", hint=hint) from None
    except json.JSONDecodeError as exc:
        raise UnreadableError(
            f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}", hint=hint
        ) from None
    try:
        import jsonschema
    except ImportError:  # the `validate` extra
        raise UnreadableError(
            "--schema needs jsonschema", hint="pip install 'coltec-worker[validate]'"
        ) from None
    try:
        cls = jsonschema.validators.validator_for(schema)
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = json_path(exc.absolute_path)
        raise UnreadableError(
            f"{path}: {where}: not a valid JSON Schema: {exc.message}", hint=hint
        ) from None
    return cls(schema)


def custom_problems(doc: Document, validator: Any, schema_path: str) -> list[Problem]:
    """Every error of `doc` against another schema, each at its file:line and JSON path."""
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: list(map(str, e.path)))
    name = os.path.basename(schema_path)
    return [
        doc.problem(
            json_path(err.absolute_path),
            err.message,
            f"{name} requires it (at {json_path(err.absolute_schema_path)} there)",
            f"schema:{err.validator}",
        )
        for err in errors
    ]


def schema_and_print(
    file: str,
    schema: str | None,
    *,
    schema_only: bool,
    as_json: bool = False,
    user_config: str | None = None,
) -> int:
    try:
        validator = None if schema is None else load_json_schema(schema)
        doc = load_yaml(file)
    except UnreadableError as exc:
        if as_json:
            print(json.dumps({"valid": False, "error": exc.message, "hint": exc.hint}))
        else:
            print_error(exc.message, exc.hint)
        return EXIT_USAGE
    except ConfigError as exc:  # not YAML (or refused by the reader): its problems
        return _print([ValidationReport(file, exc.problems)], as_json)
    if schema is None:
        problems = check_document(doc, SPEC_SCHEMA)
    else:
        problems = custom_problems(doc, validator, schema)
    if not schema_only:
        from coltec_worker.declaration.pipeline import validate_file

        full = validate_file(file, user_config)  # read a moment ago: UnreadableError is rare
        seen = {(p.path, p.message) for p in problems}
        problems += [p for p in full.problems if (p.path, p.message) not in seen]
    return _print([ValidationReport(file, problems)], as_json)


def _print(reports: Sequence[ValidationReport], as_json: bool) -> int:
    print(report_json(reports) if as_json else report_text(reports))
    return EXIT_OK if all(r.ok for r in reports) else EXIT_INVALID
