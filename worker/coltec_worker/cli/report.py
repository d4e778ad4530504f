"""How coltec-validate and --validate-only print a verdict: text lines or one JSON report."""

from __future__ import annotations

import json
from collections.abc import Sequence

from coltec_worker.declaration.validation import ValidationReport


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
