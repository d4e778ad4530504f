"""`coltec-validate` with the predecessor's schema options: --schema FILE, --schema-only,
--generate-schema (the real command, as a user's script runs it)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

SPEC = """\
name: demo
metadata: {org: acme, project: web}
persistence:
  enabled: true
  sync:
    - name: data
      path: /workspace/data
      remote_path: "{org}/{project}/data"
      interval: 60
"""


def validate(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["coltec-validate", *args], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "workspace-spec.yaml"
    path.write_text(SPEC)
    return path


def test_generate_schema_prints_the_one_schema_and_needs_no_file() -> None:
    result = validate("--generate-schema")
    assert result.returncode == 0
    shipped = json.loads((REPO_ROOT / "schema" / "workspace-spec.schema.json").read_text())
    assert json.loads(result.stdout) == shipped


def test_the_generated_schema_is_usable_with_schema(spec: Path, tmp_path: Path) -> None:
    schema = tmp_path / "generated.json"
    schema.write_text(validate("--generate-schema").stdout)
    assert validate("--file", str(spec), "--schema", str(schema)).returncode == 0


def test_schema_only_skips_the_semantic_rules(spec: Path) -> None:
    # A sync path that escapes the workspace's prefix: the shape is fine, a rule refuses it.
    spec.write_text(SPEC.replace('"{org}/{project}/data"', '"../../etc"'))
    full = validate("--file", str(spec))
    assert full.returncode == 1 and "remote_path" in full.stdout
    only = validate("--file", str(spec), "--schema-only")
    assert only.returncode == 0, only.stdout
    assert only.stdout.strip() == f"{spec}: valid"


def test_schema_only_still_refuses_a_bad_shape_with_line_and_path(spec: Path) -> None:
    spec.write_text(SPEC + "bogus: 1\n")
    result = validate("--file", str(spec), "--schema-only")
    assert result.returncode == 1
    assert f"{spec}:10:1: $.bogus: unknown key 'bogus'" in result.stdout


def test_schema_file_adds_its_requirements_at_their_line(spec: Path, tmp_path: Path) -> None:
    strict = tmp_path / "org-strict.json"
    strict.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {
                    "metadata": {"type": "object", "required": ["environment"]},
                },
            }
        )
    )
    result = validate("-f", str(spec), "-s", str(strict), "--json")
    assert result.returncode == 1
    [problem] = json.loads(result.stdout)["files"][0]["problems"]
    assert problem["path"] == "$.metadata" and problem["line"] == 2
    assert "'environment' is a required property" in problem["message"]
    assert "org-strict.json" in problem["hint"]
    # with --schema-only the rules are skipped, the given schema still applies
    assert validate("-f", str(spec), "-s", str(strict), "--schema-only").returncode == 1
    spec.write_text(SPEC.replace("project: web}", "project: web, environment: dev}"))
    assert validate("-f", str(spec), "-s", str(strict)).returncode == 0


def test_schema_file_and_the_rules_both_apply_without_schema_only(
    spec: Path, tmp_path: Path
) -> None:
    loose = tmp_path / "loose.json"
    loose.write_text("{}")
    spec.write_text(SPEC.replace("interval: 60", "interval: 1"))
    result = validate("-f", str(spec), "-s", str(loose))
    assert result.returncode == 1 and "interval" in result.stdout
    assert validate("-f", str(spec), "-s", str(loose), "--schema-only").returncode == 0


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("{not json", "not JSON"),
        ('{"type": 5}', "not a valid JSON Schema"),
        (None, "No such file"),
    ],
)
def test_an_unusable_schema_file_is_exit_2_in_one_line(
    spec: Path, tmp_path: Path, content: str | None, said: str
) -> None:
    schema = tmp_path / "schema.json"
    if content is not None:
        schema.write_text(content)
    result = validate("--file", str(spec), "--schema", str(schema))
    assert result.returncode == 2
    assert said in result.stderr and "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ") and "hint: " in result.stderr


def test_file_is_required_unless_generate_schema() -> None:
    result = validate("--schema-only")
    assert result.returncode == 2 and "--file" in result.stderr
