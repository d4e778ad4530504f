"""The applicable cases of the predecessor's Python-era `tests/test_spec.py` (its pydantic
models, last at commit 1f0e8a6), replayed as declarations against our validator.

Not applicable, and why: `priority must be 1..3` (its Rust successor, whose files users
have now, takes 0-255, so ours does); RcloneConfig's default remote_name `r2coltec`
(ours is `r2`; every file the predecessor generated writes its remote_name); the
render_devcontainer() and StorageConfig cases (here the template renders devcontainer.json
and there is no storage-config.yaml: global/project references are reported as not
synced, see test_notices)."""

from __future__ import annotations

from pathlib import Path

import pytest
from coltec_worker.declaration.source import parse_yaml
from coltec_worker.declaration.spec import spec_from_dict

from tests.predecessor.verdict import one, plan_of, problems_of

HEAD = """\
name: test-workspace
metadata: {org: test-org, project: test-project, environment: dev}
devcontainer:
  template: {name: test, path: templates/test.json.jinja2}
  image: {name: "test:latest"}
"""
VOLUME = "{name: agent-context, remote_path: workspaces/org/proj/env/agent-context, "


def spec(persistence: str) -> str:
    return HEAD + persistence


def test_rclone_config_with_variable_options_is_valid(tmp_path: Path) -> None:
    text = spec(
        "persistence:\n  rclone_config:\n    remote_name: r2coltec\n    type: s3\n"
        "    options:\n      provider: Cloudflare\n      access_key_id: ${S3_ACCESS_KEY_ID}\n"
    )
    assert problems_of(text, tmp_path) == []
    rc = spec_from_dict(parse_yaml(text, "x").data).persistence.rclone_config
    assert (rc.remote_name, rc.type, rc.options["provider"]) == ("r2coltec", "s3", "Cloudflare")


def test_empty_remote_name_fails(tmp_path: Path) -> None:
    text = spec('persistence:\n  rclone_config: {remote_name: "", type: s3}\n')
    one(problems_of(text, tmp_path), "pattern", "$.persistence.rclone_config.remote_name")


def test_volume_defaults(tmp_path: Path) -> None:
    text = spec(
        "persistence:\n  multi_scope_volumes:\n    environment:\n"
        "      - {name: scratch, remote_path: workspaces/org/proj/env/scratch, "
        "mount_path: /workspace/scratch}\n"
    )
    assert problems_of(text, tmp_path) == []
    msv = spec_from_dict(parse_yaml(text, "x").data).persistence.multi_scope_volumes
    assert msv is not None
    v = msv.environment[0]
    assert (v.sync, v.interval, v.priority, v.exclude, v.read_only) == (
        "bidirectional",
        300,
        2,
        (),
        False,
    )


def test_relative_mount_path_fails(tmp_path: Path) -> None:
    text = spec(
        "persistence:\n  volumes:\n      - {name: test, remote_path: test, "
        "mount_path: workspace/test}\n"
    )
    p = one(problems_of(text, tmp_path), "local-path", "$.persistence.volumes[0].mount_path")
    assert "must be absolute" in p.message


def test_zero_interval_fails(tmp_path: Path) -> None:
    text = spec(
        "persistence:\n  volumes:\n      - {name: test, remote_path: test, "
        "mount_path: /workspace/test, interval: 0}\n"
    )
    one(problems_of(text, tmp_path), "minimum", "$.persistence.volumes[0].interval")


@pytest.mark.parametrize("direction", ["bidirectional", "pull-only", "push-only"])
def test_all_sync_strategies(direction: str, tmp_path: Path) -> None:
    text = spec(
        "persistence:\n  volumes:\n      - {name: test, remote_path: test, "
        f"mount_path: /workspace/test, sync: {direction}}}\n"
    )
    assert problems_of(text, tmp_path) == []


@pytest.mark.parametrize("mode", ["mounted", "replicated"])
def test_mode_validates(mode: str, tmp_path: Path) -> None:
    assert problems_of(spec(f"persistence: {{enabled: false, mode: {mode}}}\n"), tmp_path) == []


def test_invalid_mode_fails(tmp_path: Path) -> None:
    p = one(problems_of(spec("persistence: {enabled: true, mode: invalid}\n"), tmp_path), "enum")
    assert "mounted, replicated" in p.message


def test_default_mode_is_mounted() -> None:
    assert spec_from_dict(parse_yaml(spec("persistence: {}\n"), "x").data).persistence.mode == (
        "mounted"
    )


def test_mounted_mode_requires_mounts(tmp_path: Path) -> None:
    text = spec("persistence: {enabled: true, mode: mounted, mounts: []}\n")
    one(problems_of(text, tmp_path), "persistence-empty", "$.persistence.sync")


def test_mounted_mode_with_mounts_is_valid(tmp_path: Path) -> None:
    text = spec(
        "persistence:\n  enabled: true\n  mode: mounted\n  scope: project\n  mounts:\n"
        "    - {name: agent-context, target: /workspace/agent-context, source: agent-context}\n"
    )
    assert problems_of(text, tmp_path) == []


def test_replicated_mode_requires_volumes(tmp_path: Path) -> None:
    text = spec("persistence: {enabled: true, mode: replicated, volumes: []}\n")
    one(problems_of(text, tmp_path), "sync-required", "$.persistence.sync")


def test_replicated_mode_with_volumes_is_valid_and_syncs_them(tmp_path: Path) -> None:
    text = spec(
        "persistence:\n  enabled: true\n  mode: replicated\n  rclone_config: {remote_name: r2}\n"
        f"  volumes:\n    - {VOLUME}mount_path: /workspace/agent-context, priority: 1}}\n"
    )
    plan = plan_of(text, tmp_path)
    assert [(p.name, p.local, p.priority) for p in plan.paths] == [
        ("agent-context", "/workspace/agent-context", 1)
    ]


def test_disabled_persistence_allows_empty_fields(tmp_path: Path) -> None:
    for text in ("{enabled: false, mode: mounted, mounts: []}", "{enabled: false, volumes: []}"):
        assert problems_of(spec(f"persistence: {text}\n"), tmp_path) == []


def test_multi_scope_spec_empty_and_with_references(tmp_path: Path) -> None:
    for volumes in (
        "{}",
        "{global_refs: [org-creds], project_refs: [rust-cache], environment: "
        f"[{VOLUME}mount_path: /workspace/agent-context}}]}}",
    ):
        assert (
            problems_of(spec(f"persistence:\n  multi_scope_volumes: {volumes}\n"), tmp_path) == []
        )


def test_yaml_alias_global_and_project(tmp_path: Path) -> None:
    text = spec("persistence:\n  volumes: {global: [org-creds], project: [rust-cache]}\n")
    assert problems_of(text, tmp_path) == []
    msv = spec_from_dict(parse_yaml(text, "x").data).persistence.multi_scope_volumes
    assert msv is not None
    assert (msv.global_refs, msv.project_refs) == (("org-creds",), ("rust-cache",))


def test_v1_list_format_is_the_environment_scope(tmp_path: Path) -> None:
    text = spec(
        f"persistence:\n  enabled: true\n  mode: replicated\n  volumes:\n"
        f"    - {VOLUME}mount_path: /workspace/agent-context}}\n"
    )
    msv = spec_from_dict(parse_yaml(text, "x").data).persistence.multi_scope_volumes
    assert msv is not None
    assert (msv.global_refs, msv.project_refs) == ((), ())
    assert [v.name for v in msv.environment] == ["agent-context"]


def test_both_names_of_the_volumes_at_once_fail(tmp_path: Path) -> None:
    text = spec("persistence:\n  volumes: []\n  multi_scope_volumes: {}\n")
    one(problems_of(text, tmp_path), "volumes-alias", "$.persistence.volumes")


def test_duplicate_mount_target_between_devcontainer_and_workspace_mounts(tmp_path: Path) -> None:
    text = (
        HEAD.replace(
            '  image: {name: "test:latest"}\n',
            '  image: {name: "test:latest"}\n  mounts: [{source: a, target: /data}]\n',
        )
        + "mounts: [{source: b, target: /data}]\n"
    )
    p = one(problems_of(text, tmp_path), "duplicate-target", "$.mounts[0].target")
    assert "$.devcontainer.mounts[0].target" in p.message


def test_secret_and_mount_targets_are_absolute(tmp_path: Path) -> None:
    text = spec(
        "secrets: [{provider: vault, key: tailscale/authkey, mount_path: run/key}]\n"
        "mounts: [{source: b, target: data}]\n"
    )
    found = problems_of(text, tmp_path)
    one(found, "absolute-target", "$.secrets[0].mount_path")
    one(found, "absolute-target", "$.mounts[0].target")


def test_template_paths_are_relative(tmp_path: Path) -> None:
    text = HEAD.replace("path: templates/test.json.jinja2", "path: /abs/t.json")
    one(problems_of(text, tmp_path), "relative-template", "$.devcontainer.template.path")
