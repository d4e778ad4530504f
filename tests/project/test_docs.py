"""The contributor docs cannot rot silently: what they point at exists, and they render.

For docs/architecture.md and CONTRIBUTING.md:
- every relative link resolves (from the file's own folder), and a `#anchor` names a
  heading of its target the way GitHub slugs it;
- every path-like word in inline code (`coltec/proc.py`, `python bench/worker.py`)
  exists: from the repository root, or inside a workspace the template renders
  (`.devcontainer/devcontainer.json` is template/'s file, maybe with `.jinja`); a bare
  file name (`manifest.py`, `.coltec-rendered.json`) is a file somewhere in the
  repository or a name the product's code writes;
- fences close, every `|---|` row is a rendered table, and each table row has the
  header's number of cells.

Parsed with markdown-it (CommonMark plus tables), as tests/project/test_readme.py does.
"""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

REPO = Path(__file__).resolve().parents[2]
DOCS = [REPO / "docs" / "architecture.md", REPO / "CONTRIBUTING.md"]
EXTENSIONS = ("py", "md", "toml", "yaml", "yml", "json", "sh", "jinja", "txt", "cfg", "lock")
# A path-like word: segments of name characters separated by '/', optionally a trailing '/'.
PATH_WORD = re.compile(r"(?:\./)?[\w.-]+(?:/[\w.-]+)*/?")
FILE_NAME = re.compile(rf"[\w.-]*\.(?:{'|'.join(EXTENSIONS)})")
DELIMITER_ROW = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$")
SKIPPED_DIRS = {".git", ".venv", "node_modules", ".mypy_cache", ".ruff_cache", "__pycache__"}
IDS = [p.name for p in DOCS]


def parse(text: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(text)


def walk(tokens: list[Token]) -> list[Token]:
    out: list[Token] = []
    for token in tokens:
        out.append(token)
        out.extend(walk(token.children or []))
    return out


def slug(text: str) -> str:
    """The anchor GitHub gives a heading: lowercase, punctuation dropped, spaces to '-'."""
    return re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for opening, inline in pairwise(parse(path.read_text(encoding="utf-8"))):
        if opening.type == "heading_open":
            parts = inline.children or []
            found.add(slug("".join(c.content for c in parts if c.type in ("text", "code_inline"))))
    return found


def links(text: str) -> list[str]:
    return [str(t.attrs["href"]) for t in walk(parse(text)) if t.type == "link_open"]


def code_words(text: str) -> list[str]:
    """The path-like words of every inline code span (fenced blocks are commands, skipped)."""
    words: list[str] = []
    for token in walk(parse(text)):
        if token.type != "code_inline":
            continue
        for word in token.content.split():
            word = word.strip("'\"")
            if not PATH_WORD.fullmatch(word) or word.startswith("-"):
                continue
            stem = Path(word.rstrip("/")).name.split(".")[0]
            if stem.isupper():  # a placeholder: users/NAME.yaml, ORG/NAME
                continue
            if "/" in word or FILE_NAME.fullmatch(word):
                words.append(word)
    return words


def cells(row: str) -> int:
    """How many cells a table row has: its unescaped pipes outside code spans, plus one."""
    bare = re.sub(r"`[^`]*`", "", row).strip().strip("|")
    return len(re.findall(r"(?<!\\)\|", bare)) + 1


def repository_files() -> set[str]:
    names: set[str] = set()
    for path in REPO.rglob("*"):
        if not SKIPPED_DIRS.intersection(path.relative_to(REPO).parts):
            names.add(path.name)
    return names


def product_source() -> str:
    files = [*sorted((REPO / "coltec").rglob("*.py")), REPO / "tasks.py"]
    files += sorted((REPO / "worker" / "coltec_worker").rglob("*.py"))
    return "\n".join(p.read_text(encoding="utf-8") for p in files)


def broken_links(doc: Path, text: str) -> list[str]:
    bad: list[str] = []
    for href in links(text):
        if re.match(r"[a-z]+:", href):
            continue  # https:, mailto:
        target, _, anchor = href.partition("#")
        path = (doc.parent / target).resolve() if target else doc
        if not path.exists():
            bad.append(f"{href}: no {path.relative_to(REPO) if REPO in path.parents else path}")
        elif anchor and path.suffix == ".md" and anchor not in anchors(path):
            bad.append(f"{href}: {path.name} has no heading #{anchor}")
    return bad


def missing_paths(text: str) -> list[str]:
    names = repository_files()
    source = product_source()
    bad: list[str] = []
    for word in code_words(text):
        plain = word.removeprefix("./").rstrip("/")
        if "/" in plain:
            template = REPO / "template"
            places = (REPO / plain, template / plain, template / f"{plain}.jinja")
            found = any(p.exists() for p in places)
        else:
            found = plain in names or f"{plain}.jinja" in names or f'"{plain}"' in source
        if not found:
            bad.append(word)
    return bad


@pytest.mark.parametrize("doc", DOCS, ids=IDS)
def test_every_relative_link_resolves(doc: Path) -> None:
    assert broken_links(doc, doc.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize("doc", DOCS, ids=IDS)
def test_every_path_in_code_exists(doc: Path) -> None:
    assert missing_paths(doc.read_text(encoding="utf-8")) == []


def test_a_planted_bad_path_or_link_is_caught() -> None:
    """The checks above are not vacuous: a renamed module or a dead link fails them."""
    doc = DOCS[0]
    planted = (
        "See `coltec/runtime/no_such_module.py`, `python bench/nope.py --quick`, "
        "`no-such-file.json`, [gone](../coltec/gone.py) and [x](../README.md#no-such-heading).\n"
        "Kept: `coltec/proc.py`, `manifest.py`, `.coltec-rendered.json`, "
        "`.devcontainer/devcontainer.json`, `users/NAME.yaml`, [ok](../README.md#testing).\n"
    )
    assert missing_paths(planted) == [
        "coltec/runtime/no_such_module.py",
        "bench/nope.py",
        "no-such-file.json",
    ]
    assert [b.split(":")[0] for b in broken_links(doc, planted)] == [
        "../coltec/gone.py",
        "../README.md#no-such-heading",
    ]


@pytest.mark.parametrize("doc", DOCS, ids=IDS)
def test_fences_close_and_tables_are_tables(doc: Path) -> None:
    text = doc.read_text(encoding="utf-8")
    lines = text.splitlines()
    parsed = parse(text)
    fence_lines = [n for n, line in enumerate(lines) if re.match(r"\s*(```|~~~)", line)]
    assert len(fence_lines) % 2 == 0, f"{doc.name}: an unclosed fence"
    for fence in (t for t in parsed if t.type == "fence"):
        assert fence.map is not None
        closing = lines[fence.map[1] - 1].strip()
        assert re.fullmatch(r"`{3,}|~{3,}", closing), (
            f"{doc.name}:{fence.map[1]}: the fence opened at line {fence.map[0] + 1} is not "
            f"closed by a line of its own (found {closing!r})"
        )
    code = [range(*t.map) for t in parsed if t.type in ("fence", "code_block") and t.map]
    tables = [range(*t.map) for t in parsed if t.type == "table_open" and t.map]
    for number, line in enumerate(lines):
        if DELIMITER_ROW.match(line):
            assert not any(number in block for block in code), f"{doc.name}:{number + 1}: in code"
            assert any(number in table for table in tables), f"{doc.name}:{number + 1}: no table"
    for table in tables:
        widths = {n + 1: cells(lines[n]) for n in table}
        assert len(set(widths.values())) == 1, f"{doc.name}: rows of unequal width {widths}"
