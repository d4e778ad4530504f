"""The pipeline, fuzzed (hypothesis, bounded): whatever the declaration and environment,
compile_document ends in problems or a plan — never an exception — and a plan is safe:
it survives its JSON round trip (what the daemon reads) and every state file of every
path stays inside the state directory.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml
from coltec_worker.declaration.compiled import plan_from_json
from coltec_worker.declaration.pipeline import compile_document
from coltec_worker.declaration.source import parse_yaml
from coltec_worker.sync.state import Layout
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
ROOT = Path("/state/root")
HOSTILE = st.sampled_from(
    [
        "..",
        "../x",
        "a/b",
        ".hidden",
        "",
        " ",
        "a\nb",
        "-rf",
        "x:y",
        "{org}",
        "{user_id}",
        ".coltec-backups",
        "/abs",
        "a" * 70,
        "ok-name",
        "UPPER",
        "ünï",
        "\x1b[31m",
        "300.0",
    ]
)
GOOD = st.sampled_from(["ok-name", "x1", "/data/x", "/srv/y", "{org}/x", 60, 3600, 300.0, 5])
VALUES = st.one_of(
    GOOD,
    GOOD,
    HOSTILE,
    st.text(max_size=10),
    st.integers(-5, 10**7),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.lists(HOSTILE, max_size=3),
)
FIELDS = st.sampled_from(
    [
        ("name",),
        ("metadata", "org"),
        ("metadata", "environment"),
        ("persistence", "sync", 0, "name"),
        ("persistence", "sync", 0, "path"),
        ("persistence", "sync", 0, "remote_path"),
        ("persistence", "sync", 0, "interval"),
        ("persistence", "sync", 0, "priority"),
        ("persistence", "sync", 0, "exclude"),
        ("persistence", "sync", 0, "direction"),
        ("persistence", "sync", 1, "name"),
        ("persistence", "rclone_config", "remote_name"),
        ("persistence", "rclone_config", "options", "endpoint"),
        ("networking", "hostname_prefix"),
    ]
)
ENV = st.dictionaries(
    st.sampled_from(
        [
            "WORKSPACE_NAME",
            "WORKSPACE_ORG",
            "WORKSPACE_ENV",
            "RCLONE_BUCKET",
            "RCLONE_REMOTE_NAME",
            "USER",
        ]
    ),
    GOOD.map(str) | HOSTILE | st.sampled_from(["https://h.example/b", "https://h.example/../x"]),
    max_size=2,
)


def base() -> dict[str, Any]:
    return {
        "name": "api-dev",
        "metadata": {"org": "acme", "project": "api"},
        "persistence": {
            "enabled": True,
            "sync": [
                {"name": "code", "path": "/workspace", "remote_path": "{org}/{name}"},
                {"name": "notes", "path": "/home/u/notes", "remote_path": "{org}/{user_id}/n"},
            ],
            "rclone_config": {"options": {}},
        },
        "networking": {"enabled": True, "hostname_prefix": "dev-"},
    }


def put(data: dict[str, Any], where: tuple[Any, ...], value: Any) -> None:
    node: Any = data
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value


@FUZZ
@given(st.lists(st.tuples(FIELDS, VALUES), max_size=4), ENV)
def test_the_pipeline_ends_in_problems_or_a_safe_plan(
    edits: list[tuple[tuple[Any, ...], Any]], env: dict[str, str]
) -> None:
    data = base()
    for where, value in edits:
        put(data, where, value)
    text = yaml.safe_dump(data, allow_unicode=True)
    doc = parse_yaml(text, "fuzz.yaml")
    report = compile_document(doc, with_user=False, env=env, home=Path("/home/u"))
    if not report.ok:
        assert report.plan is None
        assert all(p.message and "\n" not in p.message for p in report.problems)
        return
    plan = report.plan
    assert plan is not None
    assert plan_from_json(json.loads(json.dumps(plan.to_json()))) == plan
    layout = Layout(ROOT)
    for path in plan.paths:
        for state_file in (
            layout.status(path.name),
            layout.workdir(path.name),
            layout.marker(path.name),
            layout.backups(path.name),
            layout.rclone_log(path.name),
            layout.running(path.name),
            layout.quarantine(path.name),
        ):
            resolved = os.path.normpath(state_file)
            assert resolved.startswith(f"{ROOT}/"), state_file
        assert path.local.startswith("/") and ".." not in path.local.split("/")
        assert path.remote_path.split("/")[0] != ".coltec-backups"
        assert 30 <= path.interval <= 604800


@FUZZ
@given(st.text(max_size=80))
def test_a_state_file_name_is_safe_or_refused(name: str) -> None:
    layout = Layout(ROOT)
    try:
        paths = [layout.status(name), layout.workdir(name), layout.marker(name)]
    except ValueError:
        return
    for path in paths:
        assert os.path.normpath(path).startswith(f"{ROOT}/")
        assert os.path.dirname(os.path.normpath(path)).count("/") <= str(ROOT).count("/") + 1
