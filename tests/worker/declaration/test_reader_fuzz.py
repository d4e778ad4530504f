"""The reader and the fast schema check: bounded, total, and in agreement with jsonschema.

- every corpus file: the fast accept path (schemacheck) and jsonschema give the same
  verdict (jsonschema is only loaded to explain a file the fast path rejects);
- generated data (hypothesis, bounded): the same, on mutations of a valid spec;
- generated text: the reader ends in data or one ConfigError, never anything else;
- bombs, deep nesting and huge files end with one clear error, fast and small
  (resource limits as a guard, not a timing assertion).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from coltec_worker.declaration.schemacheck import ANNOTATIONS, CHECKED, first_error, load_schema
from coltec_worker.declaration.source import MAX_BYTES, load_yaml, parse_yaml
from coltec_worker.declaration.validation import SPEC_SCHEMA, USER_SCHEMA, _validator
from coltec_worker.errors import ConfigError, UnreadableError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.corpus_cases import ALL_CASES, SPECS, USERS

FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**9)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([300.0, 30, 604801, "", "..", "a/b", "acme\n", "{org}/x", "tag:x"])
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
Edit = tuple[str, int, Any]
VALID = {
    "name": "api-dev",
    "metadata": {"org": "acme", "project": "api", "tags": ["x"]},
    "persistence": {
        "enabled": True,
        "sync": [{"name": "code", "path": "/workspace", "remote_path": "{org}/{name}"}],
        "rclone_config": {"options": {"provider": "Cloudflare"}, "encryption": {}},
    },
    "networking": {"enabled": False, "tags": ["tag:a"]},
}


def slow_verdict(data: Any, schema: str) -> bool:
    return not any(True for _ in _validator(schema).iter_errors(data))


def test_the_fast_path_knows_every_keyword_the_schemas_use() -> None:
    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            unknown = set(node) - CHECKED - ANNOTATIONS
            if "properties" not in where.rsplit("/", 1)[-1] and "$defs" not in where:
                assert not unknown, f"{where}: {unknown}"
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    for name in (SPEC_SCHEMA, USER_SCHEMA):
        walk(load_schema(name), name)


@pytest.mark.parametrize("file", [c.file for c in ALL_CASES] + USERS, ids=lambda f: f.name)
def test_fast_path_agrees_with_jsonschema_on_the_corpus(file: Path) -> None:
    try:
        data = load_yaml(file).data
    except ConfigError:
        return  # refused by the reader: no data reaches either checker
    schema = USER_SCHEMA if file.parent.name == "users" else SPEC_SCHEMA
    assert (first_error(data, schema) is None) == slow_verdict(data, schema)


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(["set", "del"]), st.integers(0, 50), JSON_VALUES), max_size=4
    )
)
def test_fast_path_agrees_with_jsonschema_on_mutated_specs(
    edits: list[tuple[str, int, Any]],
) -> None:
    data = json.loads(json.dumps(VALID))
    for op, pick, value in edits:
        containers = _containers(data)
        node, key = containers[pick % len(containers)]
        if op == "del" and isinstance(node, dict) and key in node:
            del node[key]
        elif (isinstance(node, list) and isinstance(key, int) and key < len(node)) or isinstance(
            node, dict
        ):
            node[key] = value
    assert (first_error(data, SPEC_SCHEMA) is None) == slow_verdict(data, SPEC_SCHEMA)


@FUZZ
@given(JSON_VALUES)
def test_fast_path_agrees_with_jsonschema_on_user_configs(data: Any) -> None:
    assert (first_error(data, USER_SCHEMA) is None) == slow_verdict(data, USER_SCHEMA)


def _containers(data: Any) -> list[tuple[Any, Any]]:
    """(container, key) for every slot of `data`, plus a fresh key in every mapping."""
    out: list[tuple[Any, Any]] = []
    if isinstance(data, dict):
        out.append((data, "extra_key"))
        for key, value in data.items():
            out.append((data, key))
            out += _containers(value)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            out.append((data, i))
            out += _containers(value)
    return out


YAML_PIECES = st.sampled_from(
    [
        "a: 1\n",
        "- x\n",
        "  ",
        "&a ",
        "*a ",
        "!!binary ",
        "!!set ",
        "<<: ",
        "? ",
        ": ",
        "[",
        "]",
        "{",
        "}",
        ",",
        '"',
        "'",
        "\t",
        "\r\n",
        "\ufeff",
        "---\n",
        "...\n",
        "!!python/object:os.system ",
        "1e400",
        "9" * 50,
        ".inf",
        ".nan",
        "~",
        "null",
        "yes",
        "name: api-dev\n",
        "metadata: {org: acme, project: api}\n",
        "#c\n",
        "%YAML 1.1\n",
    ]
)


@FUZZ
@given(st.lists(YAML_PIECES | st.text(max_size=6), max_size=30).map("".join))
def test_the_reader_ends_in_json_data_or_one_config_error(text: str) -> None:
    try:
        doc = parse_yaml(text, "fuzz.yaml")
    except ConfigError as exc:
        assert exc.problems and exc.problems[0].file == "fuzz.yaml"
        assert "\n" not in exc.problems[0].message
        return
    json.dumps(doc.data, default=str)  # plain data: string keys, lists, scalars
    assert _keys_are_strings(doc.data)


def _keys_are_strings(data: Any) -> bool:
    if isinstance(data, dict):
        return all(isinstance(k, str) and _keys_are_strings(v) for k, v in data.items())
    if isinstance(data, list):
        return all(_keys_are_strings(v) for v in data)
    return True


# -- bombs, depth, size: one clear line, bounded time and memory -----------------------

BOMB = (SPECS / "invalid" / "yaml-alias-bomb.yaml").read_text()
DEEP = "name: x\nmetadata: " + "[" * 999 + "]" * 999 + "\n"
WIDE_ALIASES = "a: &a [" + ",".join(["x"] * 200) + "]\nb: [" + ",".join(["*a"] * 200) + "]\n"


# Forks the command from a small interpreter and reports the child's own peak. Linux
# starts a child's peak RSS at its parent's at fork time, so a child of the test
# process itself (pytest past 100 MB in a full run) would report that instead. The
# limit is a guard, not a measurement: 1 GiB of address space is far above what the
# reader needs and far below what an unbounded bomb takes (> 3 GB).
LAUNCHER = """
import os, resource, sys
pid = os.fork()
if pid == 0:
    resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as fh:
    fh.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def _measured(argv: list[str]) -> tuple[int, str, int]:
    """(exit code, stdout + stderr, peak RSS in KiB) of one command, under the limit."""
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "usage"
        out = subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(report), *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )
        code, peak = report.read_text().split()
    return int(code), out.stdout, int(peak)


@pytest.mark.parametrize(
    ("name", "text", "fragment"),
    [
        ("alias-bomb", BOMB, "expands to more than 20000 values"),
        ("wide-aliases", WIDE_ALIASES, "expands to more than 20000 values"),
        ("deep", DEEP, "nesting deeper than 64 levels"),
        ("huge", None, "larger than 1024 KiB"),
    ],
)
def test_hostile_files_end_in_one_clear_error_within_bounds(
    name: str, text: str | None, fragment: str, tmp_path: Path
) -> None:
    file = tmp_path / f"{name}.yaml"
    if text is None:  # 50 MB: read no further than the limit
        with open(file, "wb") as fh:
            fh.write(b"name: x\n" + b"# padding\n" * (5 * 1024 * 1024))
        assert file.stat().st_size > 50 * MAX_BYTES
    else:
        file.write_text(text)
    for argv in (
        ["coltec-validate", "--file", str(file)],
        ["coltec-worker", "--validate-only", "--config", str(file)],
        [sys.executable, "-m", "coltec_worker.cli.compile_cmd", "--config", str(file)],
    ):
        code, output, peak_kib = _measured(argv)
        assert code in (1, 2), output
        assert fragment in output, argv
        assert "Traceback" not in output
        assert peak_kib < 100 * 1024, f"{argv[0]}: {peak_kib} KiB"  # < 100 MB


def test_a_huge_file_is_unreadable_not_parsed(tmp_path: Path) -> None:
    file = tmp_path / "big.yaml"
    file.write_bytes(b"a: 1\n" * (MAX_BYTES // 4))
    with pytest.raises(UnreadableError, match="larger than"):
        load_yaml(file)
