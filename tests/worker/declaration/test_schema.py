"""The schema is a valid 2020-12 schema, agrees with the spec model both ways, and every
command-line entry point (`coltec-validate --file`, `coltec-worker --validate-only
--config`, `invoke validate`) gives the same verdict and the same error lines for the
corpus."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import typing
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from coltec_worker.cli import main as worker_main
from coltec_worker.cli import validate_cmd
from coltec_worker.declaration import spec as model
from coltec_worker.declaration.compiled import DIRECTIONS
from coltec_worker.declaration.validation import SPEC_SCHEMA, USER_SCHEMA, load_schema
from coltec_worker.record import Record

from tests.support.corpus_cases import ALL_CASES, SPECS, Case

REPO = Path(__file__).resolve().parents[3]
BIN = REPO / ".venv" / "bin"
SCHEMAS = {SPEC_SCHEMA: load_schema(SPEC_SCHEMA), USER_SCHEMA: load_schema(USER_SCHEMA)}
JSON_TYPE = {str: "string", int: "integer", bool: "boolean", float: "number"}


# -- the schema itself --------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_schema_is_valid_2020_12(name: str) -> None:
    schema = SCHEMAS[name]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_repository_schema_is_the_one_validation_loads() -> None:
    for name, schema in SCHEMAS.items():
        assert json.loads((REPO / "schema" / name).read_text(encoding="utf-8")) == schema


def _objects(node: Any, where: str = "#") -> typing.Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "properties" in node:
            yield where, node
        for key, value in node.items():
            yield from _objects(value, f"{where}/{key}")


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_every_property_is_documented_defaulted_and_closed(name: str) -> None:
    for where, obj in _objects(SCHEMAS[name]):
        assert obj.get("additionalProperties") is False or where == "#", where
        assert SCHEMAS[name]["additionalProperties"] is False
        for prop, sub in obj["properties"].items():
            if "$ref" in sub:
                continue
            assert sub.get("description"), f"{where}/properties/{prop}: no description"
            assert "default" in sub, f"{where}/properties/{prop}: no default"
            # An object's default {} stands for "each member at its own default", so
            # its `required` does not apply to it; everything else must hold.
            check = {k: v for k, v in sub.items() if k != "required"}
            jsonschema.Draft202012Validator(check).validate(sub["default"])


# -- schema <-> dataclass model, both ways, recursively ------------------------------


def _resolve(node: dict[str, Any], root: str) -> tuple[dict[str, Any], str]:
    """Follow a $ref (local or into the other schema file); returns (node, its root)."""
    ref = node.get("$ref")
    if ref is None:
        return node, root
    file, _, pointer = ref.partition("#")
    root = file or root
    target: Any = SCHEMAS[root]
    for part in pointer.strip("/").split("/"):
        target = target[part]
    return target, root


MISSING = object()


def _is_record(hint: Any) -> bool:
    return isinstance(hint, type) and issubclass(hint, Record)


def _without_none(hint: Any) -> tuple[Any, bool]:
    """(X, True) for `X | None`; (hint, False) otherwise."""
    args = typing.get_args(hint)
    if type(None) in args and len(args) == 2:
        return next(a for a in args if a is not type(None)), True
    return hint, False


def _record_in(hint: Any) -> tuple[type[Record] | None, bool]:
    """(record class, is_sequence) for `X`, `X | None` or `tuple[X, ...]`; (None, _) for a leaf."""
    hint, _ = _without_none(hint)
    if _is_record(hint):
        return typing.cast(type[Record], hint), False
    args = typing.get_args(hint)
    if typing.get_origin(hint) is tuple and args and _is_record(args[0]):
        return typing.cast(type[Record], args[0]), True
    return None, False


def _types(sub: dict[str, Any]) -> tuple[set[str], bool]:
    """The schema's JSON types without null, and whether null is allowed."""
    kind = sub.get("type")
    kinds = set(kind) if isinstance(kind, list) else {kind}
    return kinds - {"null"}, "null" in kinds


def _leaf_type_agrees(hint: Any, sub: dict[str, Any]) -> bool:
    """`T | None` is [T, "null"]; a plain `T` may stand for [T, "null"] where the model
    reads null as the default; `object` is a schema without a type (any JSON value)."""
    if hint is object:
        return "type" not in sub
    hint, optional = _without_none(hint)
    kinds, nullable = _types(sub)
    if optional and not nullable:
        return False
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint in JSON_TYPE:
        return kinds == {JSON_TYPE[hint]}
    if origin is tuple:
        return kinds == {"array"} and sub["items"].get("type") == JSON_TYPE[args[0]]
    if origin in (Mapping, dict):
        return kinds == {"object"} and "additionalProperties" in sub
    return False


def _record_values(hint: Any) -> type[Record] | None:
    """X for `Mapping[str, X]` where X is a record (a mapping of named records)."""
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (Mapping, dict) and len(args) == 2 and _is_record(args[1]):
        return typing.cast(type[Record], args[1])
    return None


def _aliases(props: dict[str, Any]) -> dict[str, str]:
    """Properties that are another one's older name ("$comment": "alias of X") -> X."""
    out = {}
    for name, sub in props.items():
        comment = sub.get("$comment", "")
        if comment.startswith("alias of "):
            out[name] = comment.removeprefix("alias of ")
    return out


def _compare(
    schema: dict[str, Any], root: str, cls: type[Record], where: str, seen: set[str]
) -> list[str]:
    """Every disagreement between one schema object and one model record, recursively."""
    errors: list[str] = []
    props: dict[str, Any] = dict(schema["properties"])
    fields = set(cls._fields)
    module = vars(sys.modules[cls.__module__])
    hints = typing.get_type_hints(cls, module, {"ClassVar": typing.ClassVar, "Any": Any})
    for alias, target in _aliases(props).items():
        # An alias is read into its target's field: the same shape, no field of its own.
        if target not in fields:
            errors.append(f"{where}.{alias}: alias of {target}, which {cls.__name__} lacks")
        for ref in re.findall(r'"\$ref": "[^"]*/([^/"]+)"', json.dumps(props.pop(alias))):
            seen.add(ref)
    errors += [f"{where}.{p}: in the schema, not in {cls.__name__}" for p in props.keys() - fields]
    errors += [f"{where}.{f}: in {cls.__name__}, not in the schema" for f in fields - props.keys()]
    no_default = fields - cls._defaults.keys()
    if set(schema.get("required", [])) != no_default:
        errors.append(
            f"{where}: schema requires {sorted(schema.get('required', []))}, "
            f"{cls.__name__} has no default for {sorted(no_default)}"
        )
    for name in sorted(props.keys() & fields):
        raw = props[name]
        if "$ref" in raw:
            seen.add(raw["$ref"].rpartition("/")[2])
        sub, sub_root = _resolve(raw, root)
        here, hint = f"{where}.{name}", hints[name]
        nested, is_sequence = _record_in(hint)
        default = cls._defaults.get(name, MISSING)
        valued = _record_values(hint)
        if valued is not None:
            ref = sub["additionalProperties"].get("$ref", "")
            seen.add(ref.rpartition("/")[2])
            value, value_root = _resolve(sub["additionalProperties"], sub_root)
            errors += _compare(value, value_root, valued, f"{here}.*", seen)
            schema_default = sub.get("default")
        elif nested and is_sequence:
            ref = sub["items"].get("$ref", "")
            seen.add(ref.rpartition("/")[2])
            item, item_root = _resolve(sub["items"], sub_root)
            errors += _compare(item, item_root, nested, f"{here}[]", seen)
            schema_default: Any = tuple(sub.get("default", []))
        elif nested:
            errors += _compare(sub, sub_root, nested, here, seen)
            # An object's default {} means "all of its own defaults".
            schema_default = sub.get("default")
            if schema_default == {} and default is not MISSING:
                schema_default = nested()
            # null may stand for "all defaults" (a {} default), read as such by the model
            optional, nullable = _without_none(hint)[1], _types(sub)[1]
            if optional != nullable and not (nullable and sub.get("default") == {}):
                errors.append(f"{here}: nullable in one of the schema and {cls.__name__} only")
        else:
            if not _leaf_type_agrees(hint, sub):
                errors.append(f"{here}: schema type {sub.get('type')} vs model {hint}")
            schema_default = sub.get("default")
            if isinstance(schema_default, list):
                schema_default = tuple(schema_default)
        if default is not MISSING and default != schema_default:
            errors.append(
                f"{here}: default {schema_default!r} in the schema, {default!r} in {cls.__name__}"
            )
    return errors


@pytest.mark.parametrize(
    ("name", "cls"), [(SPEC_SCHEMA, model.WorkspaceSpec), (USER_SCHEMA, model.UserConfig)]
)
def test_schema_and_model_agree(name: str, cls: type) -> None:
    seen: set[str] = set()
    errors = _compare(SCHEMAS[name], name, cls, "$", seen)
    assert not errors, "\n".join(errors)
    if name == SPEC_SCHEMA:  # every $def is reached from a model class
        assert seen >= set(SCHEMAS[name]["$defs"]), set(SCHEMAS[name]["$defs"]) - seen


def test_model_enums_match_the_schema() -> None:
    sync = SCHEMAS[SPEC_SCHEMA]["$defs"]["syncPath"]["properties"]
    assert tuple(sync["direction"]["enum"]) == DIRECTIONS
    mode = SCHEMAS[SPEC_SCHEMA]["properties"]["persistence"]["properties"]["mode"]
    assert mode["enum"] == ["mounted", "replicated"]
    assert mode["default"] == model.Persistence().mode == "mounted"  # the predecessor's
    placeholders = re.findall(r"\{(\w+)\}", sync["remote_path"]["description"])
    assert tuple(placeholders) == model.PLACEHOLDERS


def test_the_compiled_plan_defaults_are_the_schema_s() -> None:
    """compiled.py writes the defaults out (the daemon loads it, not fields or the schema):
    they are the schema's, as every model record's are."""
    from coltec_worker.declaration.compiled import PlannedPath
    from coltec_worker.declaration.fields import schema_default

    expected = {
        **{n: schema_default("syncPath", n) for n in ("direction", "interval", "priority")},
        **{n: schema_default("syncDefaults", n) for n in ("transfers", "checkers", "bwlimit")},
        "exclude": schema_default("syncPath", "exclude"),
    }
    assert {n: PlannedPath._defaults[n] for n in expected} == expected


def test_comparison_catches_a_disagreement() -> None:
    """The agreement check is not vacuous: a model with a renamed field fails it."""

    class Drifted(Record):
        enabled: bool = True  # default differs
        hostname: str = "dev-"  # renamed
        tags: tuple[str, ...] = ()

    net = SCHEMAS[SPEC_SCHEMA]["properties"]["networking"]
    errors = _compare(net, SPEC_SCHEMA, Drifted, "$.networking", set())
    text = "\n".join(errors)
    assert "hostname_prefix: in the schema, not in Drifted" in text
    assert "hostname: in Drifted, not in the schema" in text
    assert "enabled: default False in the schema, True in Drifted" in text


# -- every command gives the same verdict and the same lines -------------------------


# Org policy is a host-only layer (coltec.checks.policy); the spec verdict compared here
# is the part every command shares, so the policy folder is empty.
# does not exist: no layer loads
NO_POLICY = REPO / "tests" / "support" / "specs" / "no-policy-here"


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env.update(COLUMNS="500", TERM="dumb", COLTEC_POLICY_DIR=str(NO_POLICY))
    return env


def _run(argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**_env(), **env},
        timeout=120,
        check=False,
    )


def _problem_lines(output: str, file: Path) -> list[str]:
    """The `FILE:LINE:COL: $.path: message` lines (and their hints) about `file`."""
    lines = output.splitlines()
    out: list[str] = []
    prefix = f"{file}:"
    for i, line in enumerate(lines):
        if line.startswith(prefix) and ": $" in line:
            out.append(line)
            if i + 1 < len(lines) and lines[i + 1].startswith("    hint: "):
                out.append(lines[i + 1])
    return out


def _user_args(case: Case, flag: str) -> list[str]:
    return [flag, str(case.user_config)] if case.user_config else []


def _in_process(
    main: Callable[[list[str]], int], argv: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().out


def test_validate_commands_agree_on_the_corpus(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """coltec-validate and coltec-worker --validate-only run in process (their console
    scripts are exercised by test_exit_codes); invoke validate as the real CLI, one call
    per user config, all corpus files at once."""
    # environment and unreadable cases: tests/worker/cli/test_one_verdict.py, one by one
    cases = [c for c in ALL_CASES if not c.env and c.unreadable is None]
    groups: dict[Path | None, list[Case]] = {}
    for case in cases:
        groups.setdefault(case.user_config, []).append(case)

    def batch(user: Path | None) -> subprocess.CompletedProcess[str]:
        targets = [a for c in groups[user] for a in ("-t", str(c.file))]
        user_args = ["--user-config", str(user)] if user else []
        return _run([str(BIN / "invoke"), "validate", *user_args, *targets])

    with ThreadPoolExecutor(max_workers=4) as pool:
        batches = dict(zip(groups, pool.map(batch, groups), strict=True))

    for user, result in batches.items():
        expected_rc = 0 if all(not c.expects for c in groups[user]) else 1
        assert result.returncode == expected_rc, result.stdout + result.stderr
    for case in cases:
        code, out = _in_process(
            validate_cmd.main,
            ["--file", str(case.file), *_user_args(case, "--user-config")],
            capsys,
        )
        assert code == (1 if case.expects else 0), out
        # the worker reads the user config from the environment, as in a container
        monkeypatch.setenv("COLTEC_USER_CONFIG", str(case.user_config or ""))
        in_container = _in_process(
            worker_main.main, ["--validate-only", "--config", str(case.file)], capsys
        )
        monkeypatch.setenv("COLTEC_USER_CONFIG", "")
        assert in_container == (code, out), case.id
        many = batches[case.user_config].stdout
        lines = _problem_lines(out, case.file)
        user_lines = _problem_lines(out, case.user_config) if case.user_config else []
        if case.expects:
            assert lines or user_lines, f"{case.id}: no problem line:\n{out}"
        else:
            assert out.strip() == f"{case.file}: valid"
        # the host's hint is the org policy's where the policy is stricter than the schema
        # (interval at most 86400, not 604800): the value it suggests passes there
        host = _problem_lines(many, case.file)
        stricter = [i for i, line in enumerate(host) if "policy_exceptions: [{rule:" in line]
        assert [x for i, x in enumerate(host) if i not in stricter] == [
            x for i, x in enumerate(lines) if i not in stricter
        ], case.id
        many_user = _problem_lines(many, case.user_config) if case.user_config else []
        assert all(line in many_user for line in user_lines), case.id


def test_error_line_format() -> None:
    case = next(c for c in ALL_CASES if c.file.stem == "interval-too-short")
    out = _run([str(BIN / "coltec-validate"), "--file", str(case.file)]).stdout
    assert out.splitlines() == [
        f"{case.file}:9:17: $.persistence.sync[0].interval: interval 9s is below 10s",
        "    hint: use at least 10 (seconds)",
    ]


# -- exit codes and --json ------------------------------------------------------------


def test_exit_codes(tmp_path: Path) -> None:
    valid = SPECS / "valid" / "minimal.yaml"
    invalid = SPECS / "invalid" / "sync-required.yaml"
    unreadable = tmp_path / "locked.yaml"
    unreadable.write_text("name: x\n")
    unreadable.chmod(0)
    not_text = tmp_path / "binary.yaml"
    not_text.write_bytes(b"\xff\xfe\x00garbage")
    cv = str(BIN / "coltec-validate")
    cw = str(BIN / "coltec-worker")
    inv = [str(BIN / "invoke"), "validate"]
    cs = [str(BIN / "python"), str(REPO / "tasks.py"), "validate"]  # as mise runs it
    cases: list[tuple[list[str], int]] = [
        ([cv, "--file", str(valid)], 0),
        ([cv, "--file", str(invalid)], 1),
        ([cv, "--file", str(tmp_path / "missing.yaml")], 2),
        ([cv, "--file", str(tmp_path)], 2),
        ([cv, "--file", str(not_text)], 2),
        ([cv], 2),  # --file is required
        ([cv, "--file", str(valid), "--bogus"], 2),
        ([cw, "--validate-only", "--config", str(valid)], 0),
        ([cw, "--validate-only", "--config", str(invalid)], 1),
        ([cw, "--validate-only", "--config", str(tmp_path / "missing.yaml")], 2),
        ([cw, "--validate-only", "--config", str(not_text)], 2),
        ([cw, "--validate-only", "--bogus"], 2),
        ([*inv, "-t", str(valid)], 0),
        ([*inv, "-t", str(valid), "-t", str(invalid)], 1),
        ([*inv, "-t", str(not_text)], 2),
        ([*inv, "-t", "no-such-org/no-such-ws"], 2),
        ([*inv, "-t", "not-a-workspace-key"], 2),
        ([*cs, str(valid), "--bogus"], 2),
        ([*cs, str(valid), "--json"], 0),
    ]
    if os.geteuid() != 0:  # root reads a mode-000 file anyway
        cases += [([cv, "--file", str(unreadable)], 2), ([*inv, "-t", str(unreadable)], 2)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda c: _run(c[0]), cases))
    for (argv, code), result in zip(cases, results, strict=True):
        shown = " ".join(Path(a).name if "/" in a else a for a in argv)
        assert result.returncode == code, f"{shown}: {result.stdout}{result.stderr}"
        if code == 2:
            assert result.stderr.strip() or result.stdout.strip(), f"{shown}: says nothing"


def test_json_output_shape() -> None:
    invalid = SPECS / "invalid" / "many-errors-at-once.yaml"
    valid = SPECS / "valid" / "full.yaml"
    one = _run([str(BIN / "coltec-validate"), "--file", str(invalid), "--json"])
    worker = _run(
        [str(BIN / "coltec-worker"), "--validate-only", "--config", str(invalid), "--json"]
    )
    assert (worker.returncode, worker.stdout) == (one.returncode, one.stdout)
    both = _run([str(BIN / "invoke"), "validate", "--json", "-t", str(valid), "-t", str(invalid)])
    assert one.returncode == both.returncode == 1
    single, multi = json.loads(one.stdout), json.loads(both.stdout)
    assert single["valid"] is False and multi["valid"] is False
    assert multi["unreadable"] == []
    assert [f["file"] for f in multi["files"]] == [str(valid), str(invalid)]
    assert multi["files"][0] == {"file": str(valid), "valid": True, "problems": []}
    assert multi["files"][1] == single["files"][0]
    problems = single["files"][0]["problems"]
    assert len(problems) == 5
    for p in problems:
        assert set(p) == {"file", "line", "col", "path", "message", "hint", "rule"}
        assert isinstance(p["line"], int) and isinstance(p["col"], int)
        assert p["path"].startswith("$")
    assert {p["rule"] for p in problems} == {
        "additionalProperties",
        "local-path",
        "remote-path",
        "minimum",
        "tag",
    }


def test_json_output_for_an_unreadable_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    one = _run([str(BIN / "coltec-validate"), "--file", str(missing), "--json"])
    assert one.returncode == 2
    data = json.loads(one.stdout)
    assert data["valid"] is False and "no such file" in data["error"]


def test_python_is_the_venv() -> None:
    """The subprocess tests above run the installed entry points of this checkout."""
    assert (BIN / "coltec-validate").exists(), sys.prefix
