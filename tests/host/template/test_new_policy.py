"""cs:new is policy-aware before it writes: its prompts show the org's bounds and re-ask,
`--data` outside them is exit 2 with nothing created, and that verdict is cs:validate's.

Driven as the README does (`mise run cs:new ...`), on real copier and git: a template
repository of this checkout's copier.yaml (COLTEC_TEMPLATE), a nexus in a temporary folder,
and an org policy of the test's own (COLTEC_POLICY_DIR). The prompts run on a pty, since
copier asks only on a terminal.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import termios
import time
from pathlib import Path

import pytest
import yaml

from tests.support.mise import MISE, REPO_ROOT, mise_env, mise_run

STRICT = """\
version: "1"
description: a strict org for these tests
rules:
  interval:
    min: 60
    max: 3600
  required_excludes: ["data/**"]
  required_network_tags: ["tag:strict"]
  allowed_base_images:
    - "ghcr.io/strict/*"
    - "coltec/base:*"
"""
LINES = {key: i + 1 for i, line in enumerate(STRICT.splitlines()) for key in [line.strip()]}
MIN_LINE = LINES["min: 60"]
MAX_LINE = LINES["max: 3600"]
IMAGES_LINE = LINES['- "ghcr.io/strict/*"']  # a list's line is its first item's
TAG_LINE = LINES['required_network_tags: ["tag:strict"]']
EXCLUDE_LINE = LINES['required_excludes: ["data/**"]']
BUILT_IN = "built-in: schema/org-policy.schema.json"  # the deny rules hold without a file


@pytest.fixture
def strict(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A policy folder: the shipped default.yaml, and the org `strict` above."""
    root = tmp_path / "policy"
    (root / "orgs").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "policy" / "default.yaml", root / "default.yaml")
    (root / "orgs" / "strict.yaml").write_text(STRICT, encoding="utf-8")
    monkeypatch.setenv("COLTEC_POLICY_DIR", str(root))
    return root


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(root.rglob("*"))
        if ".git" not in p.relative_to(root).parts
    }


def run_new(name: str, *data: str) -> subprocess.CompletedProcess[str]:
    args = [a for item in data for a in ("--data", item)]
    return mise_run("cs:new", f"strict/{name}", *args, "--defaults")


# (answers, the line of the strict org's file that refuses them (None: accepted), what the
# one error line says besides that file:line)
CASES = [
    (["sync_interval=59"], MIN_LINE, ["sync_interval", "59", "minimum 60"]),
    (["sync_interval=60"], None, []),
    (["sync_interval=3600"], None, []),
    (["sync_interval=3601"], MAX_LINE, ["sync_interval", "3601", "maximum 3600"]),
    (
        ["base_image=docker.io/library/ubuntu:24.04"],
        IMAGES_LINE,
        ["base_image", "ghcr.io/strict/*"],
    ),
    (["base_image=ghcr.io/strict/dev:1"], None, []),
    # fnmatch's `*` spans `/`, as rule base-image's does; the match is anchored at the start
    (["base_image=ghcr.io/strict/a/b:1"], None, []),
    (["base_image=x/ghcr.io/strict/a:1"], IMAGES_LINE, ["base_image"]),
    (
        ["networking_enabled=true", "network_tags=[tag:devcontainer]"],
        TAG_LINE,
        ["network_tags", "tag:strict"],
    ),
    (["networking_enabled=true", "network_tags=[tag:strict]"], None, []),
    # networking off: the tags are not asked and not checked, by either
    (["networking_enabled=false", "network_tags=[tag:devcontainer]"], None, []),
    # no question bounds these: the check on the render refuses them, by the same rule
    (["extra_excludes=[logs/**]"], EXCLUDE_LINE, ["extra_excludes", "data/**"]),
    (["run_args=--privileged"], BUILT_IN, ["run_args", "policy rule 'privileged'"]),
    # an exception the workspace records lifts the bound, before writing and after
    (
        ["sync_interval=30", "policy_exceptions=[{rule: interval-bounds, reason: sensors}]"],
        None,
        [],
    ),
]
WAIVED = ["interval-bounds", "base-image", "network-tags", "required-excludes", "privileged"]


@pytest.mark.parametrize(("data", "line", "says"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_new_refuses_before_writing_exactly_what_validate_refuses(
    template_repo: Path,
    nexus: Path,
    strict: Path,
    data: list[str],
    line: int | str | None,
    says: list[str],
) -> None:
    refused = line is not None
    before = tree(nexus)
    result = run_new("a-dev", *data)
    out = result.stdout + result.stderr
    assert "Traceback" not in out
    if refused:
        assert result.returncode == 2, out
        assert tree(nexus) == before  # not a file, not an empty org folder
        errors = [x for x in result.stderr.splitlines() if x.startswith("error:")]
        assert len(errors) == 1, out
        policy_file = line if isinstance(line, str) else f"{strict / 'orgs' / 'strict.yaml'}:{line}"
        for word in [*says, policy_file]:
            assert word in errors[0], (word, out)
        assert any(x.strip().startswith("hint:") for x in result.stderr.splitlines()), out
    else:
        assert result.returncode == 0, out
        assert (nexus / "codespaces" / "strict" / "a-dev" / ".copier-answers.yml").is_file()

    # cs:validate's verdict on the same answers and the same org defaults: rendered with
    # every rule excepted, then the exceptions put back to the case's own
    waive = "policy_exceptions=[" + ", ".join(f"{{rule: {r}, reason: t}}" for r in WAIVED) + "]"
    rendered = run_new("b-dev", *data, waive)
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    answers_file = nexus / "codespaces" / "strict" / "b-dev" / ".copier-answers.yml"
    answers = yaml.safe_load(answers_file.read_text(encoding="utf-8"))
    own = [d.partition("=")[2] for d in data if d.startswith("policy_exceptions=")]
    answers["policy_exceptions"] = yaml.safe_load(own[0]) if own else []
    answers_file.write_text(yaml.safe_dump(answers, sort_keys=False), encoding="utf-8")
    verdict = mise_run("cs:validate", "strict/b-dev")
    assert verdict.returncode == (1 if refused else 0), verdict.stdout + verdict.stderr
    if refused:
        assert "policy rule" in verdict.stdout + verdict.stderr


# -- the prompts, on a terminal -----------------------------------------------------------

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r")


class Terminal:
    """`mise run ...` on a pty: read the screen's text, type keys.

    prompt_toolkit redraws only the cells that change, so a second message at the same
    place may not appear whole: expect one validation message per prompt."""

    def __init__(self, *args: str, env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 250, 0, 0))
        self.proc = subprocess.Popen(
            [MISE, "run", *args],
            cwd=REPO_ROOT,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=mise_env({**env, "TERM": "xterm"}),
            start_new_session=True,
        )
        os.close(slave)
        self.raw = b""
        self.seen = 0  # the text before this offset has been matched already

    @property
    def text(self) -> str:
        return ANSI.sub(b"", self.raw).decode("utf-8", "replace")

    def expect(self, pattern: str, timeout: float = 60) -> str:
        """Wait for `pattern` in the text after the last match; return that text."""
        end = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.text[self.seen :])
            if found:
                chunk = self.text[self.seen : self.seen + found.end()]
                self.seen += found.end()
                return chunk
            if time.monotonic() > end:
                raise AssertionError(f"no {pattern!r} on the terminal:\n{self.text[-3000:]}")
            ready, _, _ = select.select([self.master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk and self.proc.poll() is not None:
                    raise AssertionError(f"exited before {pattern!r}:\n{self.text[-3000:]}")
                if b"\x1b[6n" in chunk:  # prompt_toolkit asks where the cursor is
                    os.write(self.master, b"\x1b[1;1R")
                self.raw += chunk

    def type(self, keys: str) -> None:
        os.write(self.master, keys.encode())

    def answer(self, prompt: str, keys: str = "") -> str:
        """At `prompt`: clear the offered default when keys are given, type them, Enter."""
        shown = self.expect(prompt)
        time.sleep(0.1)  # the prompt's input is live once it is drawn
        self.type(("\x15" + keys if keys else "") + "\r")
        return shown

    def close(self) -> int:
        try:
            return self.proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, 9)  # its own session: mise, invoke and copier
            return self.proc.wait(10)
        finally:
            os.close(self.master)


def test_prompts_show_the_org_bounds_and_re_ask_outside_them(
    template_repo: Path, nexus: Path, strict: Path
) -> None:
    org_file = strict / "orgs" / "strict.yaml"
    term = Terminal("cs:new", "strict/p-dev", env=dict(os.environ))
    try:
        for prompt in ("Project slug", r"Environment \(", "Project type"):
            term.answer(prompt)
        shown = term.answer(r"Container image[^\n]*\n", "docker.io/library/ubuntu:24.04")
        assert "ghcr.io/strict/*, coltec/base:*" in shown and f"{org_file}:{IMAGES_LINE}" in shown
        term.expect(r"not allowed by policy rule base-image")
        term.type("\x15coltec/base:latest\r")
        term.answer("One line shown")
        term.answer("Keep /workspace")
        shown = term.answer(r"Seconds between syncs[^\n]*\n", "30")
        assert f"60 to 3600 s, {org_file}:{MIN_LINE},{MAX_LINE}" in shown, shown
        term.expect(r"sync_interval 30 is below the org minimum 60")
        term.type("\x15120\r")
        shown = term.answer(r"Extra rclone exclude[^\n]*\n")
        assert f"requires: data/**; {org_file}:{EXCLUDE_LINE}" in shown, shown
        term.expect("Join the tailnet")
        term.type("y")  # a yes/no question takes the key alone
        shown = term.answer(r"Tailscale ACL tags[^\n]*\n", "[tag:devcontainer]")
        assert f"requires: tag:strict; {org_file}:{TAG_LINE}" in shown, shown
        term.expect(r"network_tags lacks tag:strict")
        term.type('\x15["tag:devcontainer", "tag:strict"]\r')
        term.answer("Advanced")
        term.answer("spreads its first runs")
        term.expect("created strict/p-dev", timeout=120)
    finally:
        code = term.close()
    assert code == 0, term.text[-3000:]
    answers = yaml.safe_load(
        (nexus / "codespaces" / "strict" / "p-dev" / ".copier-answers.yml").read_text()
    )
    assert answers["sync_interval"] == 120
    assert answers["base_image"] == "coltec/base:latest"
    assert answers["network_tags"] == ["tag:devcontainer", "tag:strict"]
    assert "_policy_bounds" not in answers  # the bounds are the policy's, never an answer
    verdict = mise_run("cs:validate", "strict/p-dev")
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
