"""`coltec-validate --file PATH` and the body of `coltec-worker --validate-only`.

Both print the same problems for the same file and exit 0 valid, 1 invalid,
2 unreadable file or bad usage.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence

from coltec_worker.declaration.pipeline import validate_file
from coltec_worker.declaration.validation import ValidationReport
from coltec_worker.errors import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    UnreadableError,
    print_error,
    stdout_guarded,
)


def report_json(reports: Sequence[ValidationReport]) -> str:
    return json.dumps(
        {
            "valid": all(r.ok for r in reports),
            "files": [
                {"file": r.file, "valid": r.ok, "problems": [p.to_dict() for p in r.problems]}
                for r in reports
            ],
        },
        indent=2,
    )


def report_text(reports: Sequence[ValidationReport]) -> str:
    lines: list[str] = []
    for r in reports:
        lines += [p.format() for p in r.problems] if r.problems else [f"{r.file}: valid"]
    return "\n".join(lines)


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
    parser.add_argument("--file", required=True, help="path of the workspace-spec.yaml")
    parser.add_argument(
        "--user-config",
        default=None,
        help="user.yaml to merge (default: $COLTEC_USER_CONFIG, "
        "else ~/.config/coltec/user.yaml if present)",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    args = parser.parse_args(argv)
    return validate_and_print(args.file, as_json=args.json, user_config=args.user_config)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
