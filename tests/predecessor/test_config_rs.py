"""The predecessor's `coltec-daemon/src/config.rs` test module, replayed against our
validator: each of its declarations (as data, in its test's words) and the verdict its
`validate_semantics` gave — an Ok, or one ConfigError variant — and, for the variants its
tests do not cover, a declaration of our own that triggers each one.

Where the predecessor stops at its first error, we report every problem; a test asks for
the problem that is the predecessor's variant, named by the same values."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.predecessor.verdict import one, plan_of, problems_of

HEAD = """\
name: test-workspace
metadata:
  org: testorg
  project: testproject
devcontainer:
{template}  image:
    name: ghcr.io/test/image
"""
TEMPLATE = "  template:\n    name: python\n    path: templates/python.json\n"


def spec(persistence: str, template: bool = False) -> str:
    return HEAD.format(template=TEMPLATE if template else "") + persistence


PRIMARY = """\
persistence:
  enabled: true
  mode: replicated
  default_remote: primary
  remotes:
    primary:
      type: s3
      bucket: {bucket}
"""


def named(sync: str, bucket: str = "test-bucket") -> str:
    return spec(PRIMARY.format(bucket=bucket) + "  sync:\n" + sync)


WORKSPACE = """\
    - name: workspace
      path: /workspace
      remote_path: data
      interval: 60
"""


# -- the predecessor's own cases ------------------------------------------------------


def test_minimal_valid_spec_passes(tmp_path: Path) -> None:
    assert problems_of(spec("", template=True), tmp_path) == []


def test_replicated_with_sync_passes(tmp_path: Path) -> None:
    text = named(
        "    - name: workspace\n      path: /workspace\n"
        "      remote_path: workspaces/{org}/{project}/data\n      interval: 60\n"
    )
    plan = plan_of(text, tmp_path)
    assert [(p.name, p.remote_path, p.interval) for p in plan.paths] == [
        ("workspace", "workspaces/testorg/testproject/data", 60)
    ]


def test_replicated_no_sync_fails(tmp_path: Path) -> None:
    text = spec("persistence:\n  enabled: true\n  mode: replicated\n", template=True)
    found = problems_of(text, tmp_path)
    assert one(found, "sync-required").path == "$.persistence.sync"  # ReplicatedRequiresSyncPaths
    assert len(found) == 1


def test_interval_too_low_fails(tmp_path: Path) -> None:
    text = named(
        "    - name: fast\n      path: /workspace\n      remote_path: foo/bar\n      interval: 5\n"
    )
    found = problems_of(text, tmp_path)
    p = one(found, "minimum", "$.persistence.sync[0].interval")  # SyncIntervalTooLow
    assert p.message == "interval 5s is below 10s" and "10" in p.hint
    assert len(found) == 1


@pytest.mark.parametrize("interval", [10, 11, 60])
def test_ten_seconds_is_the_minimum(interval: int, tmp_path: Path) -> None:
    text = named(
        f"    - name: ok\n      path: /workspace\n      remote_path: foo\n"
        f"      interval: {interval}\n"
    )
    assert problems_of(text, tmp_path) == []


def test_duplicate_sync_name_fails(tmp_path: Path) -> None:
    text = named(
        "    - name: data\n      path: /workspace/data\n      remote_path: foo/data\n"
        "      interval: 60\n"
        "    - name: data\n      path: /workspace/other\n      remote_path: foo/other\n"
        "      interval: 60\n"
    )
    found = problems_of(text, tmp_path)
    p = one(found, "unique-name", "$.persistence.sync[1].name")  # DuplicateSyncPathName
    assert "'data'" in p.message and len(found) == 1


def test_named_remotes_valid_passes(tmp_path: Path) -> None:
    plan = plan_of(named(WORKSPACE, bucket="my-bucket"), tmp_path)
    assert [p.remote for p in plan.paths] == ["primary"]


def test_named_remotes_default_not_found_fails(tmp_path: Path) -> None:
    text = named(WORKSPACE, bucket="my-bucket").replace(
        "default_remote: primary", "default_remote: nonexistent"
    )
    found = problems_of(text, tmp_path)
    p = one(found, "remote-exists", "$.persistence.default_remote")  # DefaultRemoteNotFound
    assert "'nonexistent'" in p.message and "primary" in p.hint
    assert (p.line, p.col) == (11, 19)  # file:line:col of the value


def test_named_remotes_s3_missing_bucket_fails(tmp_path: Path) -> None:
    text = named(WORKSPACE).replace("      bucket: test-bucket\n", "")
    found = problems_of(text, tmp_path)
    p = one(found, "s3-bucket", "$.persistence.remotes.primary")  # S3RemoteMissingBucket
    assert "'primary'" in p.message and "bucket:" in p.hint and len(found) == 1


CRYPT = (
    """\
persistence:
  enabled: true
  mode: replicated
  default_remote: encrypted
  remotes:
{remotes}  sync:
"""
    + WORKSPACE
)
BASE = "    base:\n      type: s3\n      bucket: my-bucket\n"
ENCRYPTED = (
    "    encrypted:\n      type: crypt\n{wrap}      crypt:\n"
    "        password_env: RCLONE_CRYPT_PASSWORD\n"
)


def crypt_spec(remotes: str) -> str:
    return spec(CRYPT.format(remotes=remotes))


def test_named_remotes_crypt_valid_passes(tmp_path: Path) -> None:
    text = crypt_spec(BASE + ENCRYPTED.format(wrap="      wrap_remote: base\n"))
    assert [p.remote for p in plan_of(text, tmp_path).paths] == ["encrypted"]


def test_named_remotes_crypt_missing_wrap_fails(tmp_path: Path) -> None:
    found = problems_of(crypt_spec(ENCRYPTED.format(wrap="")), tmp_path)
    p = one(found, "crypt-wrap", "$.persistence.remotes.encrypted")  # CryptRemoteMissingWrapRemote
    assert "'encrypted'" in p.message and "wrap_remote" in p.message and len(found) == 1


def test_named_remotes_sync_path_override_passes(tmp_path: Path) -> None:
    text = spec(
        PRIMARY.format(bucket="bucket1")
        + "    secondary:\n      type: s3\n      bucket: bucket2\n  sync:\n"
        + WORKSPACE
        + "    - name: logs\n      path: /logs\n      remote_path: logs\n"
        "      remote: secondary\n      interval: 300\n"
    )
    plan = plan_of(text, tmp_path)
    assert {p.name: p.remote for p in plan.paths} == {"workspace": "primary", "logs": "secondary"}


def test_named_remotes_sync_path_invalid_remote_fails(tmp_path: Path) -> None:
    text = named(WORKSPACE.replace("      interval", "      remote: nonexistent\n      interval"))
    found = problems_of(text, tmp_path)
    p = one(found, "remote-exists", "$.persistence.sync[0].remote")  # SyncPathRemoteNotFound
    assert "'workspace'" in p.message and "'nonexistent'" in p.message and len(found) == 1


# -- the variants its tests leave out -------------------------------------------------


def test_crypt_without_crypt_settings_fails(tmp_path: Path) -> None:
    remotes = BASE + "    encrypted:\n      type: crypt\n      wrap_remote: base\n"
    found = problems_of(crypt_spec(remotes), tmp_path)
    one(found, "crypt-config", "$.persistence.remotes.encrypted")  # CryptRemoteMissingConfig


def test_crypt_wrapping_a_missing_remote_fails(tmp_path: Path) -> None:
    found = problems_of(crypt_spec(ENCRYPTED.format(wrap="      wrap_remote: base\n")), tmp_path)
    p = one(found, "crypt-wrap", "$.persistence.remotes.encrypted.wrap_remote")
    assert "'base'" in p.message  # WrapRemoteNotFound


@pytest.mark.parametrize(
    "remotes",
    [
        ENCRYPTED.format(wrap="      wrap_remote: encrypted\n"),  # the predecessor's 1-level case
        ENCRYPTED.format(wrap="      wrap_remote: other\n")
        + ENCRYPTED.format(wrap="      wrap_remote: encrypted\n").replace("encrypted:", "other:"),
    ],
)
def test_circular_wrap_remote_fails(remotes: str, tmp_path: Path) -> None:
    found = problems_of(crypt_spec(remotes), tmp_path)
    p = one(found, "crypt-wrap", "$.persistence.remotes.encrypted.wrap_remote")
    assert "circular" in p.message  # CircularWrapRemote


def test_sync_paths_without_any_remote_fail(tmp_path: Path) -> None:
    text = spec("persistence:\n  enabled: true\n  mode: replicated\n  sync:\n" + WORKSPACE)
    found = problems_of(text, tmp_path)
    one(found, "remotes-required", "$.persistence")  # NoRemotesConfigured
    # our own form (no devcontainer, version "1") takes its remote from rclone_config
    ours = text.replace(HEAD.format(template=""), "name: ws\nmetadata: {org: a, project: b}\n")
    assert problems_of(ours, tmp_path) == []


def test_a_path_without_remote_and_no_default_fails(tmp_path: Path) -> None:
    text = named(WORKSPACE).replace("  default_remote: primary\n", "")
    found = problems_of(text, tmp_path)
    p = one(found, "remote-exists", "$.persistence.sync[0].remote")  # SyncPathNoRemote
    assert "no default_remote" in p.message and "primary" in p.hint


VOLUMES = """\
persistence:
  enabled: true
  mode: replicated
  default_remote: primary
  remotes:
    primary: {{type: s3, bucket: b}}
  multi_scope_volumes:
    environment:
      - {{name: {a}, remote_path: v/a, mount_path: /workspace/a, interval: {interval}}}
      - {{name: {b}, remote_path: v/b, mount_path: /workspace/b}}
"""


def test_volume_interval_too_low_fails(tmp_path: Path) -> None:
    text = spec(VOLUMES.format(a="a", b="b", interval=5))
    p = one(problems_of(text, tmp_path), "minimum")  # VolumeIntervalTooLow
    assert p.path == "$.persistence.multi_scope_volumes.environment[0].interval"


def test_duplicate_volume_name_fails(tmp_path: Path) -> None:
    text = spec(VOLUMES.format(a="same", b="same", interval=60))
    p = one(problems_of(text, tmp_path), "unique-name")  # DuplicateVolumeName
    assert p.path == "$.persistence.multi_scope_volumes.environment[1].name"


def test_environment_volumes_alone_satisfy_replicated_and_are_synced(tmp_path: Path) -> None:
    plan = plan_of(spec(VOLUMES.format(a="a", b="b", interval=60)), tmp_path)
    assert [(p.name, p.local, p.remote_path, p.remote) for p in plan.paths] == [
        ("a", "/workspace/a", "v/a", "primary"),
        ("b", "/workspace/b", "v/b", "primary"),
    ]
