"""cs:adopt on real-world devcontainer folders: adopted, validated, updated, nothing lost.

Each folder in adopt_corpus/ is a devcontainer setup as public projects write them
(image, Dockerfile, multi-stage, legacy dockerFile, compose, features, mounts, env,
ports, lifecycle commands, runArgs, customizations), with expected.yaml: the project
type adopt must infer, the image policy must resolve, the policy rules it breaks, and
the files adopt keeps as the user's own (reported as hand edits afterwards).
The check that nothing was lost is written here, apart from the product's own.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

import pytest
import yaml

from coltec import jsonc
from coltec.checks import base_image
from coltec.template.devcontainer_json import LIFECYCLE
from tests.host.template.conftest import commit_all, edit_file, git

Cli = Callable[..., CompletedProcess[str]]
CORPUS = Path(__file__).parent / "adopt_corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "expected.yaml").is_file())
DC = Path(".devcontainer") / "devcontainer.json"
TEMPLATE_DC = Path("template") / ".devcontainer" / "devcontainer.json.jinja"
HOOKS = set(LIFECYCLE)  # the names come from the spec; the checks below are the test's


def _contains(mine: Any, theirs: Any) -> bool:
    """`theirs` keeps `mine`: equal, a superset (objects, lists), or runs it (hooks)."""
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return all(k in theirs and _contains(v, theirs[k]) for k, v in mine.items())
    if isinstance(mine, list) and isinstance(theirs, list):
        return all(item in theirs for item in mine)
    return bool(mine == theirs)


def _missing(original: dict[str, Any], written: dict[str, Any]) -> list[str]:
    if "dockerFile" in original:  # the legacy spelling means this build
        build = {"dockerfile": original.pop("dockerFile"), "context": original.pop("context", ".")}
        original["build"] = build
    missing = []
    for key, value in original.items():
        got = written.get(key)
        if key in HOOKS and isinstance(got, dict) and "coltec" in got:
            kept = got.get("user") == value or _contains(value, got)
        else:
            kept = _contains(value, got)
        if not kept:
            missing.append(key)
    return missing


def test_corpus_has_every_shape() -> None:
    assert len(CASES) >= 15
    shapes = {
        "image": False,
        "build": False,
        "dockerFile": False,
        "dockerComposeFile": False,
        "features": False,
        "mounts": False,
        "containerEnv": False,
        "remoteEnv": False,
        "forwardPorts": False,
        "runArgs": False,
        "customizations": False,
        **dict.fromkeys(HOOKS, False),
    }
    for case in CASES:
        dc = jsonc.loads((CORPUS / case / DC).read_text())
        for key in dc:
            if key in shapes:
                shapes[key] = True
    assert all(shapes.values()), [k for k, v in shapes.items() if not v]


@pytest.mark.parametrize("case", CASES)
def test_adopt_validate_update(case: str, template_repo: Path, nexus: Path, cli: Cli) -> None:
    expected = yaml.safe_load((CORPUS / case / "expected.yaml").read_text())
    ws = nexus / "codespaces" / "corpus" / case
    shutil.copytree(CORPUS / case, ws, ignore=shutil.ignore_patterns("expected.yaml"))
    original = jsonc.loads((ws / DC).read_text())
    resolved = base_image.resolve(ws / DC)
    assert resolved is not None and resolved.image == expected["image"], resolved

    shown = cli("adopt", str(ws))  # shows, writes nothing
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert not (ws / ".copier-answers.yml").exists()
    applied = cli("adopt", str(ws), "--apply")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "every setting of devcontainer.json is kept" in applied.stdout, applied.stdout
    answers = yaml.safe_load((ws / ".copier-answers.yml").read_text())
    assert answers["project_type"] == expected["project_type"]
    assert answers["_src_path"] == str(template_repo)  # not the scratch render's folder
    written = json.loads((ws / DC).read_text())  # the render: plain JSON now
    assert _missing(dict(original), written) == []
    assert written["postStartCommand"] == ["bash", ".devcontainer/scripts/post-start.sh"] or (
        written["postStartCommand"]["coltec"] == ["bash", ".devcontainer/scripts/post-start.sh"]
    )  # the sync worker still starts
    assert (ws / ".devcontainer" / "scripts" / "post-start.sh").is_file()
    if not expected["image"].startswith("coltec/base"):  # the image's own users, not coltec
        for key in ("remoteUser", "containerUser"):
            assert written.get(key) == original.get(key), key

    checked = cli("validate", str(ws), "--json")
    rules = {
        p["rule"].removeprefix("policy:")
        for f in json.loads(checked.stdout)["files"]
        for p in f["problems"]
    }
    assert rules == set(expected.get("policy", [])), checked.stdout
    assert checked.returncode == (1 if rules else 0)

    commit_all(nexus, f"adopt {case}")
    tracked = set(git(nexus, "ls-files").split("\n"))
    built_from = resolved.file.resolve().relative_to(nexus.resolve()).as_posix()
    assert built_from in tracked  # the Dockerfile / compose file is in the nexus, for every clone
    edit_file(template_repo / TEMPLATE_DC, '"redhat.vscode-yaml"]', '"redhat.vscode-yaml", "v2.x"]')
    commit_all(template_repo, "template v2", "v2")
    updated = cli("update", f"corpus/{case}", "--json")
    [outcome] = json.loads(updated.stdout)
    assert (outcome["outcome"], updated.returncode) == ("updated", 0), outcome
    after = json.loads((ws / DC).read_text())
    assert _missing(dict(original), after) == []  # still every setting
    assert "v2.x" in after["customizations"]["vscode"]["extensions"]  # and the change
    commit_all(nexus, "updated")
    outdated = cli("outdated", "--json")
    [drift] = json.loads(outdated.stdout)
    edited = expected.get("edited", [])  # files adopt kept as the user's own
    assert (drift["error"], drift["outdated"], drift["edited"]) == ("", False, edited), drift
    assert git(nexus, "status", "--porcelain") == ""


MALFORMED = [
    ('{"image": "x", "containerEnv": ["A=1"]}', 1, "$.containerEnv: expected an object"),
    ('{\n  "image": "x",\n  "features": ["go"]\n}', 3, "$.features: expected an object"),
    ('{"image": "x", "mounts": "source=a,target=/b"}', 1, "$.mounts: expected a list"),
    ('{"image": "x", "forwardPorts": [true]}', 1, "$.forwardPorts: expected a list of ports"),
    ('{"image": "x", "runArgs": "--init"}', 1, "$.runArgs: expected a list of strings"),
    ('{"image": "x", "postCreateCommand": {"a": 1}}', 1, "$.postCreateCommand: expected a command"),
    ('{"image": 3}', 1, "$.image: expected an image reference"),
    ('{"build": {"dockerfile": 1}}', 1, "$.build: expected an object with a dockerfile"),
    ('{"dockerComposeFile": "c.yml"}', 1, "$.service: a compose configuration needs"),
    ('{\n  "image": "x"\n  "name": "y"\n}', 3, "not valid JSON"),
    ("[1, 2]", 1, "$: expected an object"),
    ('{"image": "x", "a": ' + "[" * 100_000 + "]" * 100_000 + "}", 1, "nested too deeply"),
]


@pytest.mark.parametrize(("text", "line", "says"), MALFORMED, ids=[m[2][:40] for m in MALFORMED])
def test_malformed_devcontainer_is_one_located_error(
    template_repo: Path, nexus: Path, cli: Cli, text: str, line: int, says: str
) -> None:
    ws = nexus / "codespaces" / "corpus" / "broken"
    (ws / ".devcontainer").mkdir(parents=True)
    (ws / DC).write_text(text)
    result = cli("adopt", str(ws), "--apply")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    [error] = [x for x in result.stderr.splitlines() if x.startswith("error:")]
    assert f"devcontainer.json:{line}:" in error and says in error, result.stderr
    assert "hint:" in result.stderr
    assert sorted(p.name for p in ws.rglob("*")) == [".devcontainer", "devcontainer.json"]


def test_folder_names_that_are_not_slugs_are_named_with_data(
    template_repo: Path, nexus: Path, cli: Cli
) -> None:
    ws = nexus / "My Project"
    shutil.copytree(CORPUS / "go-feature-on-base", ws, ignore=shutil.ignore_patterns("*.yaml"))
    refused = cli("adopt", str(ws))
    assert refused.returncode == 2 and "name 'My Project' is not a slug" in refused.stderr
    assert "--data org=ORG --data name=NAME" in refused.stderr  # a hint adopt accepts
    applied = cli("adopt", str(ws), "--apply", "--data", "org=acme", "--data", "name=my-project")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "wrote a minimal .devcontainer/workspace-spec.yaml (persisting /workspace)" in (
        applied.stdout
    )
    spec = yaml.safe_load((ws / ".devcontainer" / "workspace-spec.yaml").read_text())
    assert (spec["name"], spec["metadata"]["org"]) == ("my-project", "acme")
    assert spec["persistence"]["sync"][0]["path"] == "/workspace"
    assert cli("validate", str(ws)).returncode == 0
