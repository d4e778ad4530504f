"""The predecessor's `coltec-daemon/tests/validate_spec.rs`, replayed: its valid fixture
parses into a spec with its values, and the schema has its top-level shape."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from coltec_worker.declaration.source import load_yaml
from coltec_worker.declaration.spec import spec_from_dict
from coltec_worker.declaration.validation import SPEC_SCHEMA, load_schema

from tests.predecessor.verdict import DATA, problems

VALID = DATA / "files" / "dc5f23f" / "coltec-daemon" / "tests" / "data" / "valid_workspace.yaml"
REPO = Path(__file__).resolve().parents[2]


def test_parses_valid_fixture(tmp_path: Path) -> None:
    assert problems(VALID, tmp_path) == []
    spec = spec_from_dict(load_yaml(VALID).data)
    assert spec.name == "env-test"
    assert spec.metadata.org == "test-org"
    assert spec.persistence.enabled
    assert spec.devcontainer is not None and spec.devcontainer.user == "vscode"


def test_generates_json_schema() -> None:
    schema = load_schema(SPEC_SCHEMA)
    assert "properties" in schema and "name" in schema["properties"]
    assert "devcontainer" in schema["$defs"]  # its DevcontainerSpec
    out = subprocess.run(
        [str(REPO / ".venv" / "bin" / "coltec-validate"), "--generate-schema"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(out) == schema  # the one schema, as the CLI prints it


def test_schema_is_an_object_schema() -> None:
    assert load_schema(SPEC_SCHEMA)["type"] == "object"
