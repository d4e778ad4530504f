"""ajv (npm), an independent JSON Schema implementation in strict mode, must agree with
the schema part of our validator on every corpus file: same verdict, same JSON paths.

Strict mode rejects schema smells (unknown keywords, ignored keywords...). The one
relaxation, --allow-union-types, admits `"type": [...]` (rclone option values), which
is plain 2020-12. ajv reads JSON, so the YAML corpus is converted first; files our
validator rejects at the YAML level (syntax errors, duplicate keys) have no JSON form
and are left out, and the test checks that only those are.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from coltec_worker.declaration.pipeline import validate_file
from coltec_worker.declaration.source import load_yaml
from coltec_worker.errors import ConfigError, Problem

from tests.support.budget import budget
from tests.support.corpus_cases import ALL_CASES, SPECS, USERS

REPO = Path(__file__).resolve().parents[3]
AJV = REPO / "node_modules" / ".bin" / "ajv"
SPEC_SCHEMA = REPO / "schema" / "workspace-spec.schema.json"
USER_SCHEMA = REPO / "schema" / "user-config.schema.json"
# Our problems whose rule is a JSON Schema keyword are the schema part; "empty" is
# a null document, which the schema rejects as not an object.
SCHEMA_RULES = set(jsonschema.Draft202012Validator.VALIDATORS) | {"empty"}
YAML_LEVEL = {"yaml"}


def ajv(schema: Path, refs: Path, files: list[Path]) -> dict[Path, list[dict[str, Any]] | None]:
    """Run ajv once over `files`: None for a valid file, else its errors."""
    assert AJV.exists(), "ajv-cli is installed by ./dev setup (npm)"
    data_args = [a for f in files for a in ("-d", str(f))]
    result = subprocess.run(
        [
            str(AJV),
            "validate",
            "--spec=draft2020",
            "--strict=true",
            "--allow-union-types",
            "--all-errors",
            "--errors=json",
            "-c",
            "ajv-formats",
            "-s",
            str(schema),
            "-r",
            str(refs),
            *data_args,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    verdicts: dict[Path, list[dict[str, Any]] | None] = {}
    for line in result.stdout.splitlines():
        if line.endswith(" valid"):
            verdicts[Path(line.removesuffix(" valid"))] = None
    # stderr: "<file> invalid" followed by a JSON array, per invalid file
    parts = re.split(r"^(\S+\.json) invalid$", result.stderr, flags=re.MULTILINE)
    assert not parts[0].strip(), f"ajv said something unexpected: {parts[0]}"
    for name, errors in zip(parts[1::2], parts[2::2], strict=True):
        verdicts[Path(name)] = json.loads(errors)
    assert set(verdicts) == set(files), result.stdout + result.stderr
    return verdicts


def ajv_paths(errors: list[dict[str, Any]] | None) -> set[str]:
    """ajv's errors as our JSON paths ($.a.b[0]); a bad key is named by the key's path."""
    paths: set[str] = set()
    for err in errors or []:
        path = "$"
        for part in err["instancePath"].split("/")[1:]:
            part = part.replace("~1", "/").replace("~0", "~")
            path += f"[{part}]" if part.isdigit() else f".{part}"
        if err["keyword"] == "additionalProperties":
            path += f".{err['params']['additionalProperty']}"
        elif "propertyName" in err:
            path += f".{err['propertyName']}"
        elif err["keyword"] == "propertyNames":
            continue  # the summary of the error above, which names the key
        paths.add(path)
    return paths


def schema_paths(problems: list[Problem], file: Path) -> set[str]:
    return {p.path for p in problems if p.rule in SCHEMA_RULES and Path(p.file) == file}


def to_json(source: Path, target: Path) -> None:
    """The data our reader gives the schema check, as JSON (ConfigError: no such data;
    ValueError: no JSON form, e.g. .inf and .nan)."""
    data = load_yaml(source).data
    # YAML-only scalars (dates) become the text JSON would carry.
    target.write_text(json.dumps(data, default=str, allow_nan=False), encoding="utf-8")


@pytest.fixture(scope="module")
@budget(60)  # reads the corpus once (about 1 s)
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    out = tmp_path_factory.mktemp("ajv")
    mapping: dict[Path, Path] = {}
    for source in [c.file for c in ALL_CASES] + USERS:
        target = out / f"{source.parent.name}--{source.stem}.json"
        try:
            to_json(source, target)
        except (ConfigError, ValueError):
            continue
        mapping[source] = target
    return mapping


def test_ajv_is_strict(tmp_path: Path) -> None:
    """Strict mode is on: a schema smell (an unknown keyword) makes ajv refuse the schema."""
    smelly = tmp_path / "smelly.json"
    smelly.write_text('{"type": "object", "propertiez": {}}', encoding="utf-8")
    result = subprocess.run(
        [str(AJV), "compile", "--spec=draft2020", "--strict=true", "-s", str(smelly)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "strict mode: unknown keyword" in result.stdout + result.stderr


def test_ajv_agrees_on_the_corpus(converted: dict[Path, Path]) -> None:
    spec_verdicts = ajv(
        SPEC_SCHEMA, USER_SCHEMA, [converted[c.file] for c in ALL_CASES if c.file in converted]
    )
    user_verdicts = ajv(USER_SCHEMA, SPEC_SCHEMA, [converted[u] for u in USERS if u in converted])
    disagreements: list[str] = []
    compared = 0
    for case in ALL_CASES:
        if case.unreadable is not None or case.env:
            continue  # no data at all / environment problems: not the schema's business
        report = validate_file(case.file, case.user_config)
        if case.file not in converted:
            assert {p.rule for p in report.problems} <= YAML_LEVEL | SCHEMA_RULES
            no_json = any(p.message.endswith(("(Infinity)", "(NaN)")) for p in report.problems)
            assert no_json or any(p.rule in YAML_LEVEL for p in report.problems), case.id
            continue
        if any(p.rule in YAML_LEVEL for p in report.problems):
            # parses for PyYAML (duplicate keys: last one wins) but is rejected by us
            # before any schema check: nothing to compare
            continue
        targets = [(case.file, spec_verdicts[converted[case.file]])]
        if case.user_config and case.user_config in converted:
            targets.append((case.user_config, user_verdicts[converted[case.user_config]]))
        for file, errors in targets:
            ours, theirs = schema_paths(report.problems, file), ajv_paths(errors)
            compared += 1
            if ours != theirs:
                disagreements.append(
                    f"{case.id} ({file.name}): ours {sorted(ours)} vs ajv {sorted(theirs)}"
                )
    assert not disagreements, "\n".join(disagreements)
    # both sides of the verdict are exercised: schema errors, and files that are
    # schema-valid (valid ones, and ones only the semantic rules reject)
    rejected = sum(1 for errors in spec_verdicts.values() if errors)
    assert compared >= 55 and rejected >= 15 and len(spec_verdicts) - rejected >= 25


def test_user_configs_agree(converted: dict[Path, Path]) -> None:
    """Each user.yaml in the corpus, alone, against the user-config schema."""
    users = [u for u in USERS if u in converted]
    verdicts = ajv(USER_SCHEMA, SPEC_SCHEMA, [converted[u] for u in users])
    minimal = SPECS / "valid" / "minimal.yaml"
    for user in users:
        report = validate_file(minimal, user)
        assert schema_paths(report.problems, user) == ajv_paths(verdicts[converted[user]]), user
