"""Hostile answers stay data: valid JSON, valid YAML, the same text back, nothing executed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from coltec_worker.declaration.pipeline import validate_file

from coltec.errors import UsageError
from coltec.template import rendering
from tests.support.budget import budget

HOSTILE = (
    "quote \" single ' backslash \\ newline\nsecond line $(touch /tmp/coltec-pwned) "
    "`touch /tmp/coltec-pwned2` {{ 7 * 7 }} {% raw %} ${HOME} ]]> </script> # not a comment "
    "--- tab\tend 🚀 ünïcödé"
)


@pytest.fixture(scope="module")
@budget(60)  # one copier copy (about 2 s)
def hostile(template_v1: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dst = tmp_path_factory.mktemp("hostile") / "team" / "evil-dev"
    data = {
        "org": "team",
        "project": "evil",
        "name": "evil-dev",
        "description": HOSTILE,
        "run_args": ['--label=a "b" $(c)', "--env=X=`id`"],
        "extra_excludes": ['we"ird/**', "back\\slash/**", "{{ x }}/**"],
        "networking_enabled": True,
    }
    rendering.copy(rendering.TemplateSource(str(template_v1), None), dst, data, defaults=True)
    return dst


def test_yaml_spec_round_trips_hostile_text(hostile: Path):
    spec_file = hostile / ".devcontainer" / "workspace-spec.yaml"
    spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    assert spec["metadata"]["description"] == HOSTILE
    excludes = spec["persistence"]["sync"][0]["exclude"]
    assert excludes[-3:] == ['we"ird/**', "back\\slash/**", "{{ x }}/**"]
    report = validate_file(spec_file, with_user=False)
    assert report.ok, [p.format() for p in report.problems]


def test_json_devcontainer_round_trips_hostile_run_args(hostile: Path):
    config = json.loads((hostile / ".devcontainer" / "devcontainer.json").read_text())
    assert config["runArgs"] == ['--label=a "b" $(c)', "--env=X=`id`"]


def test_answers_file_round_trips(hostile: Path):
    answers = rendering.read_answers(hostile)
    assert answers["description"] == HOSTILE
    assert answers["_commit"] == "v1"


def test_nothing_was_executed(hostile: Path):
    assert not Path("/tmp/coltec-pwned").exists()
    assert not Path("/tmp/coltec-pwned2").exists()
    readme = (hostile / "README-coltec-workspace.md").read_text(encoding="utf-8")
    assert "{{ 7 * 7 }}" in readme  # an answer is never rendered as a template
    for script in (hostile / ".devcontainer" / "scripts").iterdir():
        assert "pwned" not in script.read_text()


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("org", "Bad Org", "not a slug"),
        ("description", "bell \x07 here", "control character"),
        ("sync_interval", "5", "at least 10"),
        ("network_tags", '["devcontainer"]', 'like "tag:devcontainer"'),
        ("run_args", '{"a": 1}', "list of strings"),
        ("extra_excludes", '[""]', "non-empty patterns"),
    ],
)
def test_invalid_answers_are_refused_with_the_fix(
    template_v1: Path, tmp_path: Path, key: str, value: str, says: str
):
    data = {"org": "team", "project": "p", "name": "p-dev", "networking_enabled": True, key: value}
    with pytest.raises(UsageError) as caught:
        rendering.copy(
            rendering.TemplateSource(str(template_v1), None), tmp_path / "ws", data, defaults=True
        )
    assert key in caught.value.message and says in caught.value.message
    assert "--data" in caught.value.hint
    assert not (tmp_path / "ws").exists()
