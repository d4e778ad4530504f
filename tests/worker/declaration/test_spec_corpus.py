"""Data-driven acceptance: every file in tests/support/specs/{valid,invalid} gets its verdict.

Each case runs in its own environment (the case's `# env:` lines on top of a bare
one), so WORKSPACE_* and RCLONE_* overrides are part of the corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from coltec_worker.cli.validate_cmd import report_json, report_text
from coltec_worker.declaration.pipeline import ENVIRONMENT, validate_file
from coltec_worker.errors import UnreadableError

from tests.support.corpus_cases import ALL_CASES, INVALID, USERS, VALID, Case, load_case, unmatched


def case_env(case: Case, home: Path) -> dict[str, str]:
    return {"HOME": str(home), "COLTEC_USER_CONFIG": "", **case.env}


def test_corpus_is_big_enough() -> None:
    assert len(VALID) >= 5
    assert len(INVALID) >= 30
    for file in INVALID:
        case = load_case(file)
        assert case.expects or case.unreadable, f"{file.name} has no '# expect:' line"
    for file in VALID:
        assert load_case(file).valid, f"{file.name} is valid but expects problems"
    # the hostile corpus of the one-pipeline issue: specs, user configs, environments
    hostile = len(ALL_CASES) + len(USERS) + sum(len(c.env) for c in ALL_CASES)
    assert hostile >= 80 + 60, hostile


@pytest.mark.parametrize("case", [load_case(f) for f in VALID], ids=lambda c: c.id)
def test_valid_spec(case: Case, tmp_path: Path) -> None:
    report = validate_file(case.file, case.user_config, env=case_env(case, tmp_path))
    assert report.ok, "\n".join(p.format() for p in report.problems)
    assert report.spec is not None and report.plan is not None


@pytest.mark.parametrize("case", [load_case(f) for f in INVALID], ids=lambda c: c.id)
def test_invalid_spec(case: Case, tmp_path: Path) -> None:
    env = case_env(case, tmp_path)
    if case.unreadable is not None:
        with pytest.raises(UnreadableError, match=case.unreadable):
            validate_file(case.file, case.user_config, env=env)
        return
    report = validate_file(case.file, case.user_config, env=env)
    assert not report.ok
    assert report.spec is None and report.plan is None
    missing, extra = unmatched(case, report.problems)
    got = "\n".join(p.format() for p in report.problems)
    assert not missing, f"expected but not reported: {[str(e) for e in missing]}\ngot:\n{got}"
    assert not extra, f"reported but not expected:\n{got}"
    for p in report.problems:
        assert p.message and p.hint, f"every problem names a fix: {p.format()}"
        if p.file != ENVIRONMENT:
            assert p.line is not None, f"every problem has a line: {p.format()}"
        assert "\n" not in p.message and "\n" not in p.hint, "one line each"
    rendered = report_text([report]) + report_json([report])
    for text in case.forbid:
        assert text not in rendered, f"{text!r} must never be shown"


def test_problems_are_in_file_order() -> None:
    report = validate_file(next(f for f in INVALID if f.stem == "many-errors-at-once"))
    lines = [(p.line, p.col) for p in report.problems]
    assert lines == sorted(lines)  # type: ignore[type-var]


def test_json_report_is_plain_data() -> None:
    report = validate_file(next(f for f in INVALID if f.stem == "many-errors-at-once"))
    data = json.loads(report_json([report]))
    problem = data["files"][0]["problems"][0]
    assert set(problem) == {"file", "line", "col", "path", "message", "hint", "rule"}
