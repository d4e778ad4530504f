"""The spec corpus in tests/support/specs: each file carries its expectations in leading comments.

    # user-config: users/extra-collide.yaml     merge this user.yaml (relative to specs/)
    # env: NAME=VALUE                            the worker's environment has this (escapes allowed)
    # expect: [FILE ][LINE[:COL] ]$.json.path: message fragment
    # expect: env NAME: message fragment         a problem with an environment variable
    # expect-hint: hint fragment                 (for the expect line above)
    # expect-unreadable: message fragment        the file cannot be read at all (exit 2)
    # forbid: text                               never in the output (backslash escapes allowed)

A valid file has no expect line. An invalid file's problems must match its expect
lines one to one: nothing missing, nothing extra. Files are read as bytes: a corpus
file may be non-UTF-8 or UTF-16 on purpose (its comments stay readable).
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from pathlib import Path

from coltec_worker.declaration.pipeline import ENVIRONMENT
from coltec_worker.errors import Problem

SPECS = Path(__file__).resolve().parent / "specs"
VALID = sorted((SPECS / "valid").glob("*.yaml"))
INVALID = sorted((SPECS / "invalid").glob("*.yaml"))
USERS = sorted((SPECS / "users").glob("*.yaml"))

_EXPECT_ENV = re.compile(r"^env (?P<var>[A-Z_][A-Z0-9_]*): (?P<frag>.*)$")
_EXPECT = re.compile(
    r"^(?:(?P<file>\S+\.yaml) )?(?:(?P<line>\d+)(?::(?P<col>\d+))? )?(?P<path>\$\S*): (?P<frag>.*)$"
)


@dataclass
class Expect:
    path: str
    fragment: str
    file: Path | None = None  # None: the spec file itself
    line: int | None = None
    col: int | None = None
    hint: str | None = None
    env: bool = False  # a problem with the environment variable `path`

    def matches(self, problem: Problem, spec_file: Path) -> bool:
        if self.env:
            return (
                problem.file == ENVIRONMENT
                and problem.path == self.path
                and self.fragment in problem.message
                and (self.hint is None or self.hint in problem.hint)
            )
        return (
            problem.file != ENVIRONMENT
            and Path(problem.file).resolve() == (self.file or spec_file).resolve()
            and problem.path == self.path
            and self.fragment in problem.message
            and (self.line is None or problem.line == self.line)
            and (self.col is None or problem.col == self.col)
            and (self.hint is None or self.hint in problem.hint)
        )

    def __str__(self) -> str:
        if self.env:
            return f"env {self.path}: ~{self.fragment!r}"
        where = f"{self.file.name} " if self.file else ""
        pos = f"{self.line}:{self.col or ''} " if self.line else ""
        hint = f" (hint ~ {self.hint!r})" if self.hint else ""
        return f"{where}{pos}{self.path}: ~{self.fragment!r}{hint}"


@dataclass
class Case:
    file: Path
    expects: list[Expect] = field(default_factory=list)
    forbid: list[str] = field(default_factory=list)
    user_config: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    unreadable: str | None = None  # expected fragment of the "cannot read" error

    @property
    def id(self) -> str:
        return f"{self.file.parent.name}/{self.file.stem}"

    @property
    def valid(self) -> bool:
        return not self.expects and self.unreadable is None


def load_case(file: Path) -> Case:
    case = Case(file)
    data = file.read_bytes()
    text = data.decode("utf-16") if data[:2] == b"\xff\xfe" else data.decode("utf-8", "replace")
    for raw in text.removeprefix("\ufeff").splitlines():
        if not raw.startswith("#"):
            continue
        key, _, value = raw[1:].strip().partition(":")
        value = value.strip()
        if key == "expect" and _EXPECT_ENV.match(value):
            m = _EXPECT_ENV.match(value)
            assert m
            case.expects.append(Expect(path=m["var"], fragment=m["frag"], env=True))
        elif key == "expect":
            m = _EXPECT.match(value)
            assert m, f"{file}: malformed expect line: {raw}"
            case.expects.append(
                Expect(
                    path=m["path"],
                    fragment=m["frag"],
                    file=SPECS / m["file"] if m["file"] else None,
                    line=int(m["line"]) if m["line"] else None,
                    col=int(m["col"]) if m["col"] else None,
                )
            )
        elif key == "expect-hint":
            assert case.expects, f"{file}: expect-hint before any expect"
            case.expects[-1].hint = value
        elif key == "forbid":
            case.forbid.append(codecs.decode(value, "unicode_escape"))
        elif key == "user-config":
            case.user_config = SPECS / value
        elif key == "env":
            name, _, env_value = value.partition("=")
            case.env[name] = codecs.decode(env_value, "unicode_escape")
        elif key == "expect-unreadable":
            case.unreadable = value
    return case


def unmatched(case: Case, problems: list[Problem]) -> tuple[list[Expect], list[Problem]]:
    """Expectations with no problem, and problems no expectation accounts for (1:1)."""
    left = list(problems)
    missing: list[Expect] = []
    for expect in case.expects:
        hit = next((p for p in left if expect.matches(p, case.file)), None)
        if hit is None:
            missing.append(expect)
        else:
            left.remove(hit)
    return missing, left


ALL_CASES = [load_case(f) for f in VALID + INVALID]
