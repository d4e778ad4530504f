"""Validation reports for the host: check-jsonschema's checker -> result -> reporter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from coltec_worker.declaration.pipeline import compile_document
from coltec_worker.declaration.source import load_yaml
from coltec_worker.declaration.validation import ValidationReport
from coltec_worker.errors import ConfigError, Problem, UnreadableError

from coltec.checks.compliance import Exemption, check_policy
from coltec.checks.policy import PolicyStore
from coltec.errors import PolicyError


@dataclass
class ValidationRun:
    """Reports for many files, plus files that could not be read at all."""

    reports: list[ValidationReport] = field(default_factory=list)
    unreadable: list[Problem] = field(default_factory=list)
    # Policy exceptions in force, by spec file (shown, never silent).
    exemptions: dict[str, list[Exemption]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.unreadable and all(r.ok for r in self.reports)

    @property
    def problem_count(self) -> int:
        return sum(len(r.problems) for r in self.reports)

    def exit_code(self) -> int:
        if self.unreadable:
            return 2
        return 0 if self.ok else 1


def _stricter(schema_hint: str, policy_hint: str) -> bool:
    """Whether the value the schema's hint suggests (at least 10, 'push-only') is one the
    policy's hint for the same setting leaves out (at least 60; one of: pull-only, ...)."""
    found = re.findall(r"'([^']+)'|at (?:least|most) (\d+)", schema_hint)
    values = [quoted or number for quoted, number in found]
    return bool(values) and not all(
        re.search(rf"(?<![\w-]){re.escape(v)}(?![\w-])", policy_hint) for v in values
    )


def validate_files(
    files: Iterable[Path],
    user_config: Path | None = None,
    on_file: Callable[[str], None] | None = None,
) -> ValidationRun:
    """Schema + semantic rules (coltec_worker.declaration.validation), then the org policy.
    `on_file` is told of each file as its check starts (cs:validate's progress)."""
    run = ValidationRun()
    store = PolicyStore()
    bad_policies: set[str] = set()
    for path in files:
        if on_file is not None:
            on_file(str(path))
        try:
            doc = load_yaml(path)  # parsed once, for the schema, the rules and the policy
        except UnreadableError as exc:
            run.unreadable.append(
                Problem(str(path), None, None, "$", exc.message, exc.hint, "unreadable")
            )
            continue
        except ConfigError as exc:
            run.reports.append(ValidationReport(str(path), exc.problems))
            doc = None
        if doc is not None:
            run.reports.append(compile_document(doc, user_config))
        report = run.reports[-1]
        try:
            verdict = check_policy(path, store, doc)
        except PolicyError as exc:  # the policy file's own problems, shown once
            key = exc.problems[0].file if exc.problems else exc.message
            if key in bad_policies:
                report.problems.append(
                    Problem(
                        str(path),
                        None,
                        None,
                        "$",
                        f"org policy {key} is invalid (see above): the policy cannot be checked",
                        exc.hint,
                        "policy",
                    )
                )
            else:
                bad_policies.add(key)
                report.problems += exc.problems or [
                    Problem(key, None, None, "$", exc.message, exc.hint, "policy")
                ]
            report.spec = None
            continue
        seen = {(p.file, p.path): i for i, p in enumerate(report.problems)}
        for p in verdict.problems:
            if (i := seen.get((p.file, p.path))) is None:
                report.problems.append(p)
            elif _stricter(report.problems[i].hint, p.hint):
                report.problems[i] = report.problems[i]._replace(hint=p.hint)
        if not report.ok:
            report.spec = None
        if verdict.exemptions:
            run.exemptions[str(path)] = verdict.exemptions
    return run
