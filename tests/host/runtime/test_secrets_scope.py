"""Secrets stay in scope (issue 24, item 4): what cs:up delivers, where it writes it, and
what a failing fnox shows."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from coltec.runtime import secrets

HOST_ENV = {
    "RCLONE_CONFIG_R2_ACCESS_KEY_ID": "key-id-1",
    "R2_BUCKET": "team-bucket",
    "RCLONE_R2_SECRET": "secret-r2-value",
    "COLTEC_CRYPT_PASSWORD": "crypt-pass-1",
    "COLTEC_CRYPT_SALT": "crypt-salt-1",
    "GITHUB_TOKEN": "ghp_not-for-any-container",
    "PATH": "/usr/bin",
    "LD_PRELOAD": "/tmp/evil.so",
}


def test_a_runtime_folder_this_tool_did_not_create_is_never_chmodded(tmp_path: Path) -> None:
    shared = tmp_path / "tmp-like"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # what /tmp is: COLTEC_RUNTIME_DIR=/tmp must leave it so
    with pytest.raises(secrets.SecretsError, match="open to other users"):
        secrets.runtime_dir({"COLTEC_RUNTIME_DIR": str(shared)})
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    # one it creates is private, and stays usable
    fresh = tmp_path / "fresh" / "run"
    assert secrets.runtime_dir({"COLTEC_RUNTIME_DIR": str(fresh)}) == fresh
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    assert secrets.runtime_dir({"COLTEC_RUNTIME_DIR": str(fresh)}) == fresh


def test_system_variables_are_never_delivered() -> None:
    got = secrets.wanted(HOST_ENV, "r2", ["PATH", "LD_PRELOAD", "COLTEC_CRYPT_PASSWORD"])
    assert got == {
        "RCLONE_CONFIG_R2_ACCESS_KEY_ID": "key-id-1",
        "COLTEC_CRYPT_PASSWORD": "crypt-pass-1",
    }


def test_a_named_variable_outside_the_policy_or_a_system_one_is_refused() -> None:
    allowed = ["RCLONE_*", "AWS_*", "TAILSCALE_*", "COLTEC_*"]
    where = "$.persistence.remotes.r2.options.secret_access_key"
    assert secrets.refused({"RCLONE_R2_SECRET": where}, allowed) is None
    assert secrets.refused({"GITHUB_TOKEN": where}, allowed) == (
        "GITHUB_TOKEN",
        where,
        "is not one the org policy lets cs:up deliver",
    )
    assert secrets.refused({"LD_PRELOAD": where}, ["*"]) == (
        "LD_PRELOAD",
        where,
        "is a system variable, not a secret",
    )


def _fake_fnox(folder: Path, code: int) -> None:
    """fnox itself (a Rust binary) cannot be installed here: this stand-in prints what a
    half-done `fnox eval` prints — a decrypted export, then an error — and exits `code`."""
    folder.mkdir(exist_ok=True)
    script = folder / "fnox"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "print(\"export R2_SECRET='s3cr3t-from-fnox'\")\n"
        "print('error: cannot decrypt DB_PASSWORD=hunter2-value', file=sys.stderr)\n"
        f"sys.exit({code})\n"
    )
    script.chmod(0o755)


def test_a_failing_fnox_eval_prints_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_fnox(tmp_path / "bin", 1)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(secrets.SecretsError) as caught:
        secrets.from_fnox(str(tmp_path))
    shown = f"{caught.value.message}\n{caught.value.hint}"
    assert "exit code 1" in shown
    assert "s3cr3t-from-fnox" not in shown and "hunter2-value" not in shown
    _fake_fnox(tmp_path / "bin", 0)
    assert secrets.from_fnox(str(tmp_path)) == {"R2_SECRET": "s3cr3t-from-fnox"}
