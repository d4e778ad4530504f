"""The README's table of the spec's fields says what the schema says: every default and
the bounds it quotes are read from schema/workspace-spec.schema.json, and both example
declarations (ours and the predecessor's) are valid."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from coltec_worker.declaration.pipeline import validate_file
from coltec_worker.declaration.validation import SPEC_SCHEMA, load_schema

README = Path(__file__).resolve().parents[3] / "README.md"
SCHEMA = load_schema(SPEC_SCHEMA)


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("### The spec's fields")
    return text[start : text.index("\n### ", start + 10)]


def rows() -> list[tuple[list[str], list[str], str]]:
    """(field paths, defaults, rule) of each table row with a default to check."""
    out = []
    for line in section().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`") or "required" in cells[1]:
            continue
        names = re.findall(r"`([^`]+)`", cells[0])
        fields = [names[0]]
        for name in names[1:]:  # `.x` is a sibling of the first field
            fields.append(name if not name.startswith(".") else fields[0].rsplit(".", 1)[0] + name)
        defaults = re.findall(r"`([^`]+)`", cells[1])
        if len(defaults) == 1:
            defaults *= len(fields)
        out.append((fields, defaults, cells[2]))
    return out


def _deref(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = SCHEMA
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def schema_of(field: str) -> dict[str, Any]:
    """`persistence.sync[].interval` -> that property's schema; a trailing [] or {} is
    the list/mapping itself, an inner one its items/values."""
    node: dict[str, Any] = SCHEMA
    parts = field.split(".")
    for i, part in enumerate(parts):
        name = re.sub(r"(\[\]|\{[A-Z]*\})$", "", part)
        node = _deref(_deref(node)["properties"][name])
        if i < len(parts) - 1 and part.endswith("[]"):
            node = _deref(node["items"])
        elif i < len(parts) - 1 and re.search(r"\{[A-Z]*\}$", part):
            node = _deref(node["additionalProperties"])
    return node


def written(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


CASES = [
    (f, d, rule) for fields, defaults, rule in rows() for f, d in zip(fields, defaults, strict=True)
]


def test_the_table_is_read() -> None:
    assert len(CASES) > 30
    assert ("persistence.sync[].interval", "300") in [(f, d) for f, d, _ in CASES]


@pytest.mark.parametrize(("field", "default", "rule"), CASES, ids=[c[0] for c in CASES])
def test_a_default_in_the_readme_is_the_schemas(field: str, default: str, rule: str) -> None:
    node = schema_of(field)
    assert written(node["default"]) == default.strip('"'), field
    if "minimum" in node and "maximum" in node and re.search(r"\d", rule):
        lo, hi = node["minimum"], node["maximum"]
        assert f"at least {lo}, at most {hi}" in rule or f"{lo}–{hi}" in rule, (field, rule)


def test_both_example_declarations_are_valid(tmp_path: Path) -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", section(), re.S)
    assert len(blocks) == 2 and "version: 1.0.0" in blocks[1]
    env = {"RCLONE_BUCKET": "my-bucket"}
    for i, block in enumerate(blocks):
        file = tmp_path / f"example{i}.yaml"
        file.write_text(block, encoding="utf-8")
        report = validate_file(file, with_user=False, env=env, home=tmp_path)
        assert report.ok, [p.format() for p in report.problems]
