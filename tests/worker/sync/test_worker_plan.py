"""Planning is pure: spec + environment + facts -> rclone argv. Nothing runs here."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from coltec_worker.declaration.compiled import Plan
from coltec_worker.declaration.pipeline import compile_document
from coltec_worker.declaration.remote import Remote, crypt_password
from coltec_worker.declaration.resolve import bucket_from, remote_from_env
from coltec_worker.declaration.source import parse_yaml
from coltec_worker.declaration.spec import spec_from_dict
from coltec_worker.errors import ConfigError
from coltec_worker.sync.plan import plan_path
from coltec_worker.sync.state import Layout

STATE = Layout(Path("/workspace/.coltec/state"))
S3_ENV = {"RCLONE_REMOTE_NAME": "r2", "RCLONE_BUCKET": "bkt"}
HOME = Path("/home/dev")


def data_of(*paths: dict[str, object], **rclone_config: object) -> dict[str, object]:
    return {
        "name": "demo",
        "metadata": {"org": "acme", "project": "web"},
        "persistence": {
            "enabled": True,
            "rclone_config": rclone_config,
            "sync": [
                {
                    "remote_path": "{org}/{project}/{name}/" + str(p["name"]),
                    "path": f"/workspace/{p['name']}",
                    **p,
                }
                for p in paths
            ],
        },
    }


def spec(*paths: dict[str, object], **rclone_config: object):  # type: ignore[no-untyped-def]
    return spec_from_dict(data_of(*paths, **rclone_config))


def compiled(
    *paths: dict[str, object], env: dict[str, str] | None = None, **rclone_config: object
) -> Plan:
    """The plan the pipeline compiles for these sync paths (ConfigError if invalid)."""
    doc = parse_yaml(yaml.safe_dump(data_of(*paths, **rclone_config)), "spec.yaml")
    report = compile_document(doc, with_user=False, env=S3_ENV if env is None else env, home=HOME)
    if report.plan is None:
        raise ConfigError(report.problems[0].format(), report.problems)
    return report.plan


def argv_of(direction: str, first_run: bool = False, **extra: object) -> list[str]:
    plan = compiled({"name": "data", "direction": direction, **extra})
    return list(plan_path(plan.paths[0], plan.remote, STATE, stamp="T1", first_run=first_run).argv)


def flag_value(argv: list[str], flag: str) -> str:
    return argv[argv.index(flag) + 1]


@pytest.mark.parametrize("direction", ["bidirectional", "push-only", "pull-only"])
def test_a_paths_own_operation_settings_become_its_rclone_flags(direction: str) -> None:
    argv = argv_of(direction, transfers=4, checkers=6, bwlimit="10M")
    assert flag_value(argv, "--transfers") == "4" and flag_value(argv, "--checkers") == "6"
    assert "--bwlimit=10M" in argv  # one element: a rate can never be read as a flag
    plain = argv_of(direction)
    assert not any(a.startswith("--bwlimit") for a in plain)


def test_bidirectional_is_bisync_with_safe_flags_and_backups_on_both_sides() -> None:
    argv = argv_of("bidirectional")
    assert argv[:4] == ["rclone", "bisync", "/workspace/data", "r2:bkt/acme/web/demo/data"]
    for flag in ("--resilient", "--recover", "--fast-list"):
        assert flag in argv
    assert flag_value(argv, "--max-lock") == "2m"
    assert flag_value(argv, "--conflict-resolve") == "newer"
    assert flag_value(argv, "--conflict-loser") == "num"
    assert flag_value(argv, "--transfers") == "8" and flag_value(argv, "--checkers") == "16"
    assert flag_value(argv, "--workdir") == "/workspace/.coltec/state/bisync/data"
    assert flag_value(argv, "--backup-dir1") == "/workspace/.coltec/state/backups/data/T1"
    assert flag_value(argv, "--backup-dir2") == "r2:bkt/.coltec-backups/acme/web/demo/data/T1"
    assert "--force" not in argv  # the max-delete guard stays on
    assert "--resync" not in argv


def test_resync_only_on_first_run_and_in_newer_mode() -> None:
    argv = argv_of("bidirectional", first_run=True)
    assert "--resync" in argv and flag_value(argv, "--resync-mode") == "newer"


@pytest.mark.parametrize(
    ("direction", "src", "dst", "backup"),
    [
        (
            "push-only",
            "/workspace/data",
            "r2:bkt/acme/web/demo/data",
            "r2:bkt/.coltec-backups/acme/web/demo/data/T1",
        ),
        (
            "pull-only",
            "r2:bkt/acme/web/demo/data",
            "/workspace/data",
            "/workspace/.coltec/state/backups/data/T1",
        ),
    ],
)
def test_one_way_is_sync_with_backup_dir_at_destination(
    direction: str, src: str, dst: str, backup: str
) -> None:
    argv = argv_of(direction, first_run=True)
    assert argv[:4] == ["rclone", "sync", src, dst]
    assert flag_value(argv, "--backup-dir") == backup
    assert "--resync" not in argv


def test_excludes_from_spec_plus_state_dir_when_inside_the_path() -> None:
    plan = compiled({"name": "ws", "path": "/workspace", "exclude": ["node_modules/**"]})
    argv = list(plan_path(plan.paths[0], plan.remote, STATE, stamp="T").argv)
    excludes = [argv[i + 1] for i, a in enumerate(argv) if a == "--exclude"]
    assert excludes == ["node_modules/**", "/.coltec/state/**"]


def test_state_dir_outside_the_path_adds_no_exclude() -> None:
    argv = argv_of("bidirectional")
    assert "--exclude" not in argv


@pytest.mark.parametrize(
    "remote_path",
    [
        "../escape",
        "a/../../b",
        "a//b",
        "/abs/path",
        "trailing/",
        "-flag/x",
        "a:b",
        "with space",
        "{unknown}/x",
        "{org}/{}",
        "{org",
        "x/\x00",
        ".coltec-backups/x",
    ],
)
def test_hostile_remote_paths_are_rejected_before_any_argv_exists(remote_path: str) -> None:
    with pytest.raises(ConfigError):
        compiled({"name": "data", "remote_path": remote_path})


def test_placeholders_take_the_workspace_identity_from_the_environment() -> None:
    plan = compiled(
        {"name": "data"}, env={**S3_ENV, "WORKSPACE_ORG": "other", "WORKSPACE_NAME": "w2"}
    )
    assert plan_path(plan.paths[0], plan.remote, STATE, stamp="T").remote == (
        "r2:bkt/other/web/w2/data"
    )


# -- the remote: environment contract -----------------------------------------------


def test_no_remote_configured_means_builtin_local_remote_under_data_home() -> None:
    s = spec({"name": "data"})
    remote = remote_from_env(s, {}, HOME)
    assert remote.builtin and remote.root == "/home/dev/.local/share/coltec/remote"
    assert remote_from_env(s, {"XDG_DATA_HOME": "/xdg"}, HOME).root == "/xdg/coltec/remote"
    plan = compiled({"name": "data"}, env={})
    run = plan_path(plan.paths[0], plan.remote, STATE, stamp="T")
    assert run.remote == "/home/dev/.local/share/coltec/remote/acme/web/demo/data"


def test_spec_options_fill_what_the_environment_leaves_out() -> None:
    s = spec(
        {"name": "data"},
        remote_name="r2",
        type="s3",
        options={
            "provider": "Cloudflare",
            "endpoint": "https://spec",
            "chunk_size": 5,
            "no_check_bucket": True,
        },
    )
    env = {"RCLONE_BUCKET": "b", "RCLONE_CONFIG_R2_ENDPOINT": "https://env"}
    remote = remote_from_env(s, env, HOME)
    assert remote.root == "r2:b"
    assert remote.env == {
        "RCLONE_CONFIG_R2_TYPE": "s3",
        "RCLONE_CONFIG_R2_PROVIDER": "Cloudflare",
        "RCLONE_CONFIG_R2_CHUNK_SIZE": "5",
        "RCLONE_CONFIG_R2_NO_CHECK_BUCKET": "true",
    }


@pytest.mark.parametrize(
    ("value", "bucket"),
    [
        ("plain", "plain"),
        ("https://acct.r2.cloudflarestorage.com/my-bucket", "my-bucket"),
        ("https://acct.r2.cloudflarestorage.com/my-bucket/some/prefix", "my-bucket"),
        ("", ""),
    ],
)
def test_bucket_from_name_or_url(value: str, bucket: str) -> None:
    assert bucket_from(value) == bucket


@pytest.mark.parametrize(
    "value",
    [
        "https://host.example/",
        "a/b",
        "x:y",
        "-rf",
        "..",
        "a..b",
        "https://h/a:b",
        "https://h/..",
        ".x",
    ],
)
def test_bad_bucket_values_are_configuration_errors(value: str) -> None:
    with pytest.raises(ConfigError):
        bucket_from(value)


def test_encryption_wraps_the_remote_in_crypt_with_the_password_left_to_obscure() -> None:
    s = spec({"name": "data"}, encryption={"enabled": True, "password_env": "MY_PW"})
    remote = remote_from_env(s, {**S3_ENV, "MY_PW": "hunter2-secret"}, HOME)
    assert remote.root == "coltec_crypt:"
    assert remote.env["RCLONE_CONFIG_COLTEC_CRYPT_TYPE"] == "crypt"
    assert remote.env["RCLONE_CONFIG_COLTEC_CRYPT_REMOTE"] == "r2:bkt"
    assert remote.crypt_password_env == "MY_PW"
    assert "hunter2-secret" not in repr(remote.env)
    plan = compiled({"name": "data"}, encryption={"enabled": True, "password_env": "MY_PW"})
    run = plan_path(plan.paths[0], plan.remote, STATE, stamp="T")
    assert run.remote == "coltec_crypt:acme/web/demo/data"
    assert not any("hunter2" in a for a in run.argv)
    assert "hunter2" not in repr(plan.to_json())  # the plan never carries the secret


def test_encryption_without_password_is_a_configuration_error_when_applied() -> None:
    plan = compiled({"name": "data"}, encryption={"enabled": True})
    with pytest.raises(ConfigError, match="COLTEC_CRYPT_PASSWORD"):
        crypt_password(plan.remote, S3_ENV)


def test_remote_join() -> None:
    assert Remote("r2:", "").join("a/b") == "r2:a/b"
    assert Remote("r2:bkt", "").join("a") == "r2:bkt/a"
    assert Remote("/data", "").join("a") == "/data/a"
