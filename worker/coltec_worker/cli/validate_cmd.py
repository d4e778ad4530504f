"""`coltec-validate --file PATH` and the body of `coltec-worker --validate-only`.

Both print the same problems for the same file and exit 0 valid, 1 invalid,
2 unreadable file or bad usage. The predecessor's options are kept (schema_cmd.py):
`--schema FILE` checks against another JSON Schema, `--schema-only` skips the semantic
rules, `--generate-schema` prints the built-in schema.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence

from coltec_worker import __version__
from coltec_worker.cli.report import report_json as report_json  # re-exported: tests
from coltec_worker.cli.report import report_text
from coltec_worker.declaration.pipeline import validate_file
from coltec_worker.errors import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    UnreadableError,
    print_error,
    stdout_guarded,
)


def validate_and_print(
    config: str | os.PathLike[str],
    *,
    as_json: bool = False,
    user_config: str | None = None,
    env: Mapping[str, str] | None = None,
) -> int:
    try:
        report = validate_file(config, user_config, env=env)
    except UnreadableError as exc:
        if as_json:
            print(json.dumps({"valid": False, "error": exc.message, "hint": exc.hint}))
        else:
            print_error(exc.message, exc.hint)
        return EXIT_USAGE
    print(report_json([report]) if as_json else report_text([report]))
    return EXIT_OK if report.ok else EXIT_INVALID


def main(argv: Sequence[str] | None = None) -> int:
    return stdout_guarded(lambda: _main(argv))


def _main(argv: Sequence[str] | None) -> int:
    import argparse  # here: --validate-only uses validate_and_print without it

    parser = argparse.ArgumentParser(
        prog="coltec-validate",
        description="Validate a workspace-spec.yaml (JSON Schema + semantic rules). "
        "Exit 0 valid, 1 invalid, 2 unreadable file or bad usage.",
    )
    parser.add_argument(
        "-f", "--file", help="path of the workspace-spec.yaml (required unless --generate-schema)"
    )
    parser.add_argument(
        "-s",
        "--schema",
        metavar="FILE",
        help="check against this JSON Schema in place of the built-in one "
        "(the rules still need the built-in shape: without --schema-only both apply)",
    )
    parser.add_argument(
        "--schema-only",
        action="store_true",
        help="only the JSON Schema stage: no semantic rules, user config or environment",
    )
    parser.add_argument(
        "--generate-schema",
        action="store_true",
        help="print the built-in workspace-spec JSON Schema and exit",
    )
    parser.add_argument(
        "--user-config",
        default=None,
        help="user.yaml to merge (default: $COLTEC_USER_CONFIG, "
        "else ~/.config/coltec/user.yaml if present)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    parser.add_argument(
        "-V", "--version", action="version", version=f"coltec-validate {__version__}"
    )
    args = parser.parse_args(argv)
    if not args.generate_schema and not args.file:
        parser.error("the following arguments are required: --file (unless --generate-schema)")
    if args.generate_schema:
        from coltec_worker.cli.schema_cmd import generate_schema

        return generate_schema()
    if args.schema or args.schema_only:
        from coltec_worker.cli.schema_cmd import schema_and_print

        return schema_and_print(
            args.file,
            args.schema,
            schema_only=args.schema_only,
            as_json=args.json,
            user_config=args.user_config,
        )
    return validate_and_print(args.file, as_json=args.json, user_config=args.user_config)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
