"""Org policy with the real template (copier) and the real validation: new, validate, up."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from coltec.checks.compliance import check_policy
from coltec.checks.explain import explain
from coltec.checks.policy import PolicyStore
from coltec.checks.run import validate_files
from coltec.errors import ColtecError
from coltec.runtime.lifecycle import validate_workspace
from coltec.template.answers import policy_answers
from coltec.template.create import new_workspace
from coltec.workspaces import REPO_ROOT, Workspace
from tests.host.checks.conftest import edit, line_of


def test_new_workspace_is_born_compliant_with_org_defaults(acme: Workspace) -> None:
    spec = yaml.safe_load(acme.spec_file.read_text())
    sync = spec["persistence"]["sync"][0]
    assert sync["interval"] == 600  # acme's default, not the template's 300
    assert "node_modules/**" in sync["exclude"] and ".venv/**" in sync["exclude"]
    assert len(sync["exclude"]) == len(set(sync["exclude"]))
    assert spec["networking"]["tags"] == ["tag:devcontainer", "tag:acme"]
    assert check_policy(acme.spec_file).problems == []
    org = json.loads((acme.dir / ".devcontainer" / "coltec-org.json").read_text())
    assert org["tools"] == ["jq@1.7.1", "ripgrep@14"]
    assert org["env"] == {"ACME_REGISTRY": "ghcr.io/acme"}


def test_default_policy_accepts_a_fresh_workspace_of_any_org(tmp_path: Path) -> None:
    created = new_workspace("initech/web", [], defaults=True)
    assert created.validation.ok
    assert check_policy(created.workspace.spec_file).problems == []


def test_violation_names_rule_policy_line_and_workspace_value(
    acme: Workspace, policy_dir: Path
) -> None:
    edit(acme.spec_file, "interval: 600", "interval: 7200")
    run = validate_files([acme.spec_file])
    assert not run.ok and run.exit_code() == 1
    [problem] = run.reports[0].problems
    acme_file = policy_dir / "orgs" / "acme.yaml"
    assert problem.rule == "policy:interval-bounds"
    assert problem.file == str(acme.spec_file)
    assert problem.line == line_of(acme.spec_file, "interval: 7200")
    assert problem.path == "$.persistence.sync[0].interval"
    assert f"{acme_file}:{line_of(acme_file, 'max: 3600')}" in problem.message
    assert "7200s" in problem.message
    assert "policy_exceptions" in problem.hint


@pytest.mark.parametrize(
    ("old", "new", "rule", "path"),
    [
        ('        - "node_modules/**"\n', "", "required-excludes", "$.persistence.sync[0].exclude"),
        (
            "direction: bidirectional",
            "direction: pull-only",
            "sync-directions",
            "$.persistence.sync[0].direction",
        ),
        ('    - "tag:devcontainer"\n', "", "network-tags", "$.networking.tags"),
    ],
)
def test_each_spec_rule(acme: Workspace, old: str, new: str, rule: str, path: str) -> None:
    edit(acme.spec_file, old, new)
    problems = check_policy(acme.spec_file).problems
    assert [(p.rule, p.path) for p in problems] == [(f"policy:{rule}", path)]


def test_base_image_is_read_from_devcontainer_json(acme: Workspace) -> None:
    dc = acme.dir / ".devcontainer" / "devcontainer.json"
    edit(dc, '"image": "coltec/base:latest"', '"image": "docker.io/library/ubuntu:24.04"')
    [problem] = check_policy(acme.spec_file).problems
    assert problem.rule == "policy:base-image"
    assert problem.file.endswith("devcontainer.json")
    assert problem.line == line_of(dc, '"image"')
    assert "docker.io/library/ubuntu:24.04" in problem.message


def test_exception_waives_its_rule_and_is_shown(acme: Workspace) -> None:
    edit(acme.spec_file, "interval: 600", "interval: 45")
    answers = acme.dir / ".copier-answers.yml"
    edit(
        answers,
        "policy_exceptions: []",
        "policy_exceptions:\n- rule: interval-bounds\n  reason: sensor capture needs 45 s",
    )
    run = validate_files([acme.spec_file])
    assert run.ok
    [exemption] = run.exemptions[str(acme.spec_file)]
    assert exemption.rule == "interval-bounds"
    assert exemption.reason == "sensor capture needs 45 s"
    assert exemption.waived == 1
    assert exemption.where.endswith(f".copier-answers.yml:{line_of(answers, '- rule:')}")


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("- rule: interval-bound\n  reason: typo", "unknown policy rule 'interval-bound'"),
        ("- rule: interval-bounds\n  reason: ''", "has no reason"),
    ],
)
def test_bad_exception_is_a_located_problem(acme: Workspace, entry: str, message: str) -> None:
    answers = acme.dir / ".copier-answers.yml"
    edit(answers, "policy_exceptions: []", "policy_exceptions:\n" + entry)
    [problem] = check_policy(acme.spec_file).problems
    assert problem.file == str(answers)
    assert problem.line is not None
    assert message in problem.message


def test_broken_policy_file_is_reported_with_line_and_hint(
    acme: Workspace, policy_dir: Path
) -> None:
    org_file = policy_dir / "orgs" / "acme.yaml"
    edit(org_file, "  interval:\n    min: 60", "  intervall:\n    min: 60")
    run = validate_files([acme.spec_file])
    assert not run.ok
    problems = run.reports[0].problems
    assert problems[0].file.endswith("acme.yaml")
    assert problems[0].line == line_of(org_file, "intervall:")
    assert "unknown key 'intervall'" in problems[0].message
    assert "interval" in problems[0].hint


def test_org_layer_refines_default_and_additive_lists(policy_dir: Path) -> None:
    (policy_dir / "default.yaml").write_text(
        'tools: ["jq@1.6", "shellcheck@0.10"]\nenv: {TZ: UTC, ACME_REGISTRY: docker.io}\n'
        'rules:\n  required_excludes: [".cache/**"]\n'
    )
    policy = PolicyStore(policy_dir).for_org("acme")
    assert policy.tools() == ["shellcheck@0.10", "jq@1.7.1", "ripgrep@14"]
    env = policy.env()
    assert env["TZ"].layer == "default" and env["ACME_REGISTRY"].layer == "org acme"
    assert [s.value for s in policy.items("rules.required_excludes")] == [
        ".cache/**",
        "node_modules/**",
    ]
    assert policy.setting("rules.interval.min").where.endswith("acme.yaml:14")
    assert (
        PolicyStore(policy_dir).for_org("unknown").setting("rules.interval.min").layer == "built-in"
    )


def test_new_data_keeps_interval_within_bounds(policy_dir: Path) -> None:
    (policy_dir / "orgs" / "tight.yaml").write_text(
        'rules:\n  interval: {min: 30, max: 120}\n  required_network_tags: ["tag:t"]\n'
    )
    data = policy_answers("tight")
    assert data["sync_interval"] == 120
    assert data["network_tags"] == ["tag:devcontainer", "tag:t"]


def test_explain_names_the_layer_of_each_value(acme: Workspace, policy_dir: Path) -> None:
    edit(acme.spec_file, "hostname_prefix: dev-", "hostname_prefix: acme-")
    rows = {r.field: r for r in explain(acme.spec_file)}
    assert rows["persistence.sync[0].interval"].layer == "org acme"
    assert rows["persistence.sync[0].interval"].value == 600
    assert rows["networking.hostname_prefix"].layer == "workspace"
    assert rows["persistence.sync[0].priority"].layer == "workspace"
    assert rows["persistence.rclone_config.encryption.enabled"].layer == "schema default"
    assert rows["policy.rules.interval.max"].value == 3600
    assert rows["policy.rules.allowed_directions"].layer == "org acme"
    org_file = policy_dir / "orgs" / "acme.yaml"
    assert rows["policy.env.ACME_REGISTRY"].where == f"{org_file}:{line_of(org_file, 'ACME_')}"


def test_cs_up_refuses_a_non_compliant_workspace(acme: Workspace) -> None:
    edit(acme.spec_file, "direction: bidirectional", "direction: pull-only")
    with pytest.raises(ColtecError, match="sync-directions"):
        validate_workspace(acme)


def test_validate_cli_explain_and_exceptions(acme: Workspace) -> None:
    invoke = Path(sys.executable).parent / "invoke"
    answers = acme.dir / ".copier-answers.yml"
    edit(
        answers,
        "policy_exceptions: []",
        "policy_exceptions:\n- rule: base-image\n  reason: vendor image",
    )
    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tasks.py"), "validate", "acme/api"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "policy exception 'base-image'" in out.stdout and "vendor image" in out.stdout
    out = subprocess.run(
        [str(invoke), "validate", "--explain", "acme/api", "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)[str(acme.spec_file)]
    assert {
        "field": "persistence.sync[0].interval",
        "value": 600,
        "layer": "org acme",
    }.items() <= next(r for r in rows if r["field"] == "persistence.sync[0].interval").items()


def test_verdict_of_invalid_spec_is_left_to_schema(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: [oops]\n")
    assert check_policy(spec).problems == []
