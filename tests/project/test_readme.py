"""The README renders as written: fences close where they should, tables are tables, and the
table of contents names every section by the anchor a Markdown renderer gives it.

The README is parsed with markdown-it (CommonMark plus tables, the parser rich uses), so a
fence line with text after it — which swallows every section up to the next fence into a
code block — shows up as headings and tables that do not exist.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

README = Path(__file__).resolve().parents[2] / "README.md"
DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$")
TOC_LINK = re.compile(r"^\s*- \[(?P<label>.+)\]\(#(?P<anchor>[^)]+)\)\s*$")


def tokens() -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(README.read_text(encoding="utf-8"))


def slug(text: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def headings(parsed: list[Token]) -> list[tuple[int, str]]:
    """(level, anchor) of every heading the renderer sees, duplicates numbered as GitHub does."""
    found: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for opening, inline in pairwise(parsed):
        if opening.type != "heading_open":
            continue
        parts = inline.children or []
        text = "".join(c.content for c in parts if c.type in ("text", "code_inline"))
        anchor = slug(text)
        count = seen.get(anchor, 0)
        seen[anchor] = count + 1
        found.append((int(opening.tag[1]), f"{anchor}-{count}" if count else anchor))
    return found


def toc_anchors() -> list[str]:
    """The links of the contents list (the first list after the title)."""
    lines = README.read_text(encoding="utf-8").splitlines()
    if "**Contents**" not in lines:
        return []
    start = lines.index("**Contents**")
    anchors = []
    for line in lines[start + 1 :]:
        if line.startswith("#"):
            break
        if match := TOC_LINK.match(line):
            anchors.append(match["anchor"])
    return anchors


def test_every_fence_line_stands_alone() -> None:
    """A fence's closing line has nothing after the backticks (else it closes nothing)."""
    fences = [t for t in tokens() if t.type == "fence"]
    lines = README.read_text(encoding="utf-8").splitlines()
    for fence in fences:
        assert fence.map is not None
        closing = lines[fence.map[1] - 1].strip()
        assert re.fullmatch(r"`{3,}|~{3,}", closing), (
            f"README.md:{fence.map[1]}: the fence opened at line {fence.map[0] + 1} "
            f"closes with {closing!r}: a closing fence stands alone on its line"
        )
        inner = [n for n in range(fence.map[0] + 1, fence.map[1] - 1) if "```" in lines[n]]
        assert not inner, (
            f"README.md:{inner[0] + 1 if inner else 0}: backticks inside the fence opened at line "
            f"{fence.map[0] + 1}: a fence line with text after it closes nothing"
        )


def test_every_table_renders_as_a_table() -> None:
    """Each `|---|` row outside a code block belongs to a rendered table."""
    parsed = tokens()
    code = [range(*t.map) for t in parsed if t.type in ("fence", "code_block") and t.map]
    tables = [range(*t.map) for t in parsed if t.type == "table_open" and t.map]
    lines = README.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if not DELIMITER_ROW.match(line):
            continue
        assert not any(number in block for block in code), (
            f"README.md:{number + 1}: a table row inside a code block (an unclosed fence above?)"
        )
        assert any(number in table for table in tables), f"README.md:{number + 1}: not a table"


def test_contents_lists_every_section_by_its_anchor() -> None:
    sections = headings(tokens())
    anchors = {anchor for _, anchor in sections}
    listed = toc_anchors()
    assert listed, "README.md has no contents list under **Contents**"
    missing_targets = [a for a in listed if a not in anchors]
    assert not missing_targets, f"contents links to no heading: {missing_targets}"
    unlisted = [a for level, a in sections if level in (2, 3) and a not in listed]
    assert not unlisted, f"sections missing from the contents: {unlisted}"
    order = [a for _, a in sections if a in listed]
    assert listed == order, "the contents list is not in the README's order"
