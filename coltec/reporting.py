"""Validation reports for the host: check-jsonschema's checker -> result -> reporter."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from coltec_worker.errors import Problem, UnreadableError
from coltec_worker.validation import Report, validate_file


@dataclass
class ValidationRun:
    """Reports for many files, plus files that could not be read at all."""

    reports: list[Report] = field(default_factory=list)
    unreadable: list[Problem] = field(default_factory=list)

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


def validate_files(files: Iterable[Path], user_config: Path | None = None) -> ValidationRun:
    run = ValidationRun()
    for path in files:
        try:
            run.reports.append(validate_file(path, user_config))
        except UnreadableError as exc:
            run.unreadable.append(
                Problem(str(path), None, None, "$", exc.message, exc.hint, "unreadable")
            )
    return run
