"""Named remotes (persistence.remotes), run by the real worker against a real S3 endpoint.

Declared as the predecessor declared them: `${VAR}`s in bucket and options, read from the
worker's environment (here the secrets file cs:up writes) at run time and never shown in
argv, logs, status or state files; objects in `bucket` under `path_prefix/remote_path`;
per-path `remote` and `default_remote`; crypt remotes that wrap another, checked against
an rclone configured by hand as declared, both ways, contents compared.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from coltec_worker.declaration import secretfile

from tests.support.s3 import S3Server
from tests.worker.helpers import BASELINE, read_tree, run_cli, write_tree


def workspace(tmp_path: Path, persistence: dict[str, Any]) -> Path:
    ws = tmp_path / "ws"
    (ws / ".devcontainer").mkdir(parents=True, exist_ok=True)
    for item in persistence.get("sync", []):
        Path(item["path"]).mkdir(parents=True, exist_ok=True)
    spec = {
        "name": "named-remotes-test",
        "version": "1.0.0",
        "metadata": {"org": "test-org", "project": "test-proj", "environment": "dev"},
        "persistence": {"enabled": True, "mode": "replicated", **persistence},
    }
    config = ws / ".devcontainer" / "workspace-spec.yaml"
    config.write_text(yaml.safe_dump(spec, sort_keys=False))
    return config


def s3_remote(bucket: str, prefix: str | None = None) -> dict[str, Any]:
    """An s3 remote as a committed spec has it: credentials only as ${VAR}s."""
    out: dict[str, Any] = {
        "type": "s3",
        "bucket": bucket,
        "options": {
            "provider": "Rclone",
            "endpoint": "${RCLONE_TEST_ENDPOINT}",
            "access_key_id": "${RCLONE_TEST_KEY_ID}",
            "secret_access_key": "$RCLONE_TEST_SECRET",
        },
    }
    if prefix:
        out["path_prefix"] = prefix
    return out


def worker_env(tmp_path: Path, s3: S3Server, **more: str) -> dict[str, str]:
    """The container's environment: the delivered variables only in the secrets file."""
    delivered = {
        "RCLONE_TEST_ENDPOINT": s3.endpoint,
        "RCLONE_TEST_KEY_ID": s3.access_key,
        "RCLONE_TEST_SECRET": s3.secret_key,
        **more,
    }
    path = tmp_path / "run" / secretfile.FILE_NAME
    path.parent.mkdir(exist_ok=True)
    path.write_text(secretfile.dumps(delivered))
    base = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
    return {
        **base,
        "HOME": str(tmp_path / "home"),
        "COLTEC_USER_CONFIG": "",
        secretfile.ENV_VAR: str(path),
    }


def hand_env(s3: S3Server) -> dict[str, str]:
    """rclone configured by hand (not by the worker) for the same endpoint."""
    return {**os.environ, **s3.env("hand"), "RCLONE_CONFIG": "/dev/null"}


def rclone(*args: str, env: dict[str, str], stdin: str | None = None) -> str:
    done = subprocess.run(
        ["rclone", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def everything_written(tmp_path: Path, *outputs: str) -> str:
    """Every output, log, status and state file of a run, as one text."""
    texts = list(outputs)
    for path in (tmp_path / "ws").rglob("*"):
        if path.is_file() and ".coltec" in path.parts:
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


def test_bucket_and_options_come_from_variables_at_run_time(s3: S3Server, tmp_path: Path) -> None:
    bucket_var = s3.bucket  # the bucket's name is itself delivered as a variable
    config = workspace(
        tmp_path,
        {
            "default_remote": "primary",
            "remotes": {"primary": s3_remote("${TEAM_BUCKET}", "workspaces")},
            "sync": [
                {
                    "name": "code",
                    "path": str(tmp_path / "code"),
                    "remote_path": "{org}/{project}/{env}/code",
                    "direction": "push-only",
                }
            ],
        },
    )
    write_tree(tmp_path / "code", {**BASELINE, "src/main.py": "print('hi')\n"})
    env = worker_env(tmp_path, s3, TEAM_BUCKET=bucket_var)
    plans = run_cli("--config", str(config), "--dry-run", env=env)
    assert plans.returncode == 0, plans.stderr
    done = run_cli("--config", str(config), "--once", env=env)
    assert done.returncode == 0, done.stderr
    landed = s3.bucket_dir / "workspaces" / "test-org" / "test-proj" / "dev" / "code"
    assert read_tree(landed) == {**BASELINE, "src/main.py": "print('hi')\n"}
    status = run_cli("status", "--config", str(config), "--json", env=env)
    written = everything_written(tmp_path, plans.stdout, plans.stderr, done.stderr, status.stdout)
    for value in (s3.secret_key, s3.access_key, s3.endpoint, bucket_var):
        assert value not in written
    argv = [json.loads(line)["argv"] for line in plans.stdout.splitlines()]
    assert argv[0][2:4] == [str(tmp_path / "code"), "coltec_r_primary:test-org/test-proj/dev/code"]


def test_an_unset_variable_names_itself_and_the_field(s3: S3Server, tmp_path: Path) -> None:
    config = workspace(
        tmp_path,
        {
            "default_remote": "primary",
            "remotes": {"primary": s3_remote(s3.bucket)},
            "sync": [{"name": "code", "path": str(tmp_path / "code"), "remote_path": "code"}],
        },
    )
    env = worker_env(tmp_path, s3)
    secrets = Path(env[secretfile.ENV_VAR])
    delivered = json.loads(secrets.read_text())
    del delivered["RCLONE_TEST_SECRET"]
    secrets.write_text(secretfile.dumps(delivered))
    done = run_cli("--config", str(config), "--once", env=env)
    assert done.returncode != 0
    assert "$.persistence.remotes.primary.options.secret_access_key" in done.stderr
    assert "${RCLONE_TEST_SECRET} is not set" in done.stderr
    assert "Traceback" not in done.stderr
    assert read_tree(s3.bucket_dir) == {}  # nothing ran with a literal "$RCLONE_TEST_SECRET"


def test_each_path_on_its_own_remote(s3: S3Server, tmp_path: Path) -> None:
    logs = "logs-bucket-test"
    (s3.root / logs).mkdir()
    config = workspace(
        tmp_path,
        {
            "default_remote": "primary",
            "remotes": {
                "primary": s3_remote(s3.bucket, "workspaces"),
                "logs-bucket": s3_remote(logs),
            },
            "sync": [
                {"name": "code", "path": str(tmp_path / "code"), "remote_path": "{org}/code"},
                {
                    "name": "logs",
                    "path": str(tmp_path / "logs"),
                    "remote_path": "{org}/logs",
                    "remote": "logs-bucket",
                    "direction": "push-only",
                },
            ],
        },
    )
    write_tree(tmp_path / "code", {**BASELINE, "a.py": "A\n"})
    write_tree(tmp_path / "logs", {**BASELINE, "app.log": "line\n"})
    done = run_cli("--config", str(config), "--once", env=worker_env(tmp_path, s3))
    assert done.returncode == 0, done.stderr
    assert read_tree(s3.bucket_dir / "workspaces" / "test-org" / "code") == {
        **BASELINE,
        "a.py": "A\n",
    }
    assert read_tree(s3.root / logs / "test-org" / "logs") == {**BASELINE, "app.log": "line\n"}
    assert not (s3.bucket_dir / "test-org").exists()


CRYPT_KINDS = [
    pytest.param("standard", True, id="names-encrypted"),
    pytest.param("off", False, id="names-visible"),
]


def crypt_spec(tmp_path: Path, s3: S3Server, names: str, dirs: bool, direction: str) -> Path:
    return workspace(
        tmp_path,
        {
            "default_remote": "secure",
            "remotes": {
                "base": s3_remote(s3.bucket, "not-used-by-crypt"),
                "secure": {
                    "type": "crypt",
                    "wrap_remote": "base",
                    "wrap_path": "encrypted-data",
                    "crypt": {
                        "password_env": "COLTEC_TEST_CRYPT_PASSWORD",
                        "password2_env": "COLTEC_TEST_CRYPT_SALT",
                        "filename_encryption": names,
                        "directory_name_encryption": dirs,
                    },
                },
            },
            "sync": [
                {
                    "name": "secrets",
                    "path": str(tmp_path / "secrets"),
                    "remote_path": "{project}/secrets",
                    "direction": direction,
                }
            ],
        },
    )


def hand_crypt(s3: S3Server, names: str, dirs: bool) -> dict[str, str]:
    """A crypt remote `handc:` set up by hand exactly as the spec declares it."""
    env = hand_env(s3)
    password = rclone("obscure", "-", env=env, stdin="pass-phrase-one").strip()
    salt = rclone("obscure", "-", env=env, stdin="salt-phrase-two").strip()
    return {
        **env,
        "RCLONE_CONFIG_HANDC_TYPE": "crypt",
        "RCLONE_CONFIG_HANDC_REMOTE": f"hand:{s3.bucket}/encrypted-data",
        "RCLONE_CONFIG_HANDC_PASSWORD": password,
        "RCLONE_CONFIG_HANDC_PASSWORD2": salt,
        "RCLONE_CONFIG_HANDC_FILENAME_ENCRYPTION": names,
        "RCLONE_CONFIG_HANDC_DIRECTORY_NAME_ENCRYPTION": "true" if dirs else "false",
    }


CRYPT_FILES = {**BASELINE, "db/prod.env": "DB_PASSWORD=plain-text-secret\n"}


def assert_encrypted(s3: S3Server, names: str) -> None:
    raw = s3.bucket_dir / "encrypted-data"
    stored = [p for p in raw.rglob("*") if p.is_file()]
    assert stored, "nothing in the wrapped remote's wrap_path"
    assert all(b"plain-text-secret" not in p.read_bytes() for p in stored)
    visible = any("prod.env" in p.name for p in stored)
    assert visible == (names == "off")
    assert not (s3.bucket_dir / "not-used-by-crypt").exists()


@pytest.mark.parametrize(("names", "dirs"), CRYPT_KINDS)
def test_crypt_written_by_rclone_as_declared_is_read_by_the_worker(
    s3: S3Server, tmp_path: Path, names: str, dirs: bool
) -> None:
    by_hand = hand_crypt(s3, names, dirs)
    source = tmp_path / "by-hand"
    write_tree(source, CRYPT_FILES)
    rclone("copy", str(source), "handc:test-proj/secrets", env=by_hand)
    assert_encrypted(s3, names)
    config = crypt_spec(tmp_path, s3, names, dirs, "pull-only")
    env = worker_env(
        tmp_path,
        s3,
        COLTEC_TEST_CRYPT_PASSWORD="pass-phrase-one",
        COLTEC_TEST_CRYPT_SALT="salt-phrase-two",
    )
    done = run_cli("--config", str(config), "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert read_tree(tmp_path / "secrets") == CRYPT_FILES
    written = everything_written(tmp_path, done.stderr)
    assert "pass-phrase-one" not in written and "salt-phrase-two" not in written


@pytest.mark.parametrize(("names", "dirs"), CRYPT_KINDS)
def test_crypt_written_by_the_worker_is_read_by_rclone_as_declared(
    s3: S3Server, tmp_path: Path, names: str, dirs: bool
) -> None:
    config = crypt_spec(tmp_path, s3, names, dirs, "push-only")
    write_tree(tmp_path / "secrets", CRYPT_FILES)
    env = worker_env(
        tmp_path,
        s3,
        COLTEC_TEST_CRYPT_PASSWORD="pass-phrase-one",
        COLTEC_TEST_CRYPT_SALT="salt-phrase-two",
    )
    done = run_cli("--config", str(config), "--once", env=env)
    assert done.returncode == 0, done.stderr
    assert_encrypted(s3, names)
    out = tmp_path / "read-back"
    rclone("copy", "handc:test-proj/secrets", str(out), env=hand_crypt(s3, names, dirs))
    assert read_tree(out) == CRYPT_FILES
    # a wrong salt opens nothing: the salt really is part of the key
    wrong = {**hand_crypt(s3, names, dirs)}
    wrong["RCLONE_CONFIG_HANDC_PASSWORD2"] = rclone(
        "obscure", "-", env=wrong, stdin="another-salt"
    ).strip()
    listed = subprocess.run(
        ["rclone", "cat", "handc:test-proj/secrets/db/prod.env"],
        env=wrong,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "plain-text-secret" not in listed.stdout
