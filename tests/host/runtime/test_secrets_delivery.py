"""Secrets for cs:up: which variables go, the file they go in, and how the worker reads it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from coltec_worker.declaration import secretfile

from coltec.runtime import lifecycle, secrets
from coltec.workspaces import nexus_id

ENV = {
    "RCLONE_REMOTE_NAME": "r2",
    "RCLONE_BUCKET": "bkt",
    "RCLONE_CONFIG_R2_SECRET_ACCESS_KEY": "s3cr3t-value",
    "RCLONE_CONFIG_OTHER_SECRET_ACCESS_KEY": "not-for-this-workspace",
    "MY_CRYPT": "crypt-pass",
    "COLTEC_CRYPT_PASSWORD": "default-crypt",
    "TAILSCALE_AUTH_KEY": "tskey-x",
    "HOME": "/home/someone",
    "EMPTY_ONE": "",
}


def test_the_predecessors_tailnet_key_name_goes_too() -> None:
    got = secrets.wanted({**ENV, "COLTEC_TAILSCALE_AUTH_KEY": "tskey-y"}, "r2", "MY_CRYPT")
    assert got["COLTEC_TAILSCALE_AUTH_KEY"] == "tskey-y"


def test_only_the_variables_of_the_workspaces_remote_go() -> None:
    got = secrets.wanted(ENV, "r2", ["MY_CRYPT"])
    assert got == {
        "RCLONE_REMOTE_NAME": "r2",
        "RCLONE_BUCKET": "bkt",
        "RCLONE_CONFIG_R2_SECRET_ACCESS_KEY": "s3cr3t-value",
        "MY_CRYPT": "crypt-pass",
        "TAILSCALE_AUTH_KEY": "tskey-x",
    }
    # RCLONE_REMOTE_NAME names the remote whatever the spec says
    assert "RCLONE_CONFIG_R2_SECRET_ACCESS_KEY" in secrets.wanted(ENV, "other-name", ["X"])


def test_the_file_is_private_and_the_worker_reads_what_the_host_wrote(tmp_path: Path) -> None:
    env = {"COLTEC_RUNTIME_DIR": str(tmp_path / "run")}
    folder = secrets.folder_for("nexus", "acme/api-dev", env)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(folder.parent.stat().st_mode) == 0o700
    path = secrets.write_file(folder, {"A_KEY": "va'l\"ue\nx", "B": ""})
    assert path.name == secretfile.FILE_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == [secretfile.FILE_NAME]  # no temp file left
    worker_env = {secretfile.ENV_VAR: str(path), "A_KEY": "old"}
    assert secretfile.apply(worker_env) is None
    assert worker_env["A_KEY"] == "va'l\"ue\nx" and worker_env["B"] == ""
    # another workspace, another folder: a container sees only its own secrets
    assert secrets.folder_for("nexus", "acme/web", env) != folder
    assert secrets.folder_for("other-nexus", "acme/api-dev", env) != folder


def test_a_missing_or_broken_file_is_reported_not_raised(tmp_path: Path) -> None:
    gone = {secretfile.ENV_VAR: str(tmp_path / "nope.json")}
    assert secretfile.apply(gone) == secretfile.MISSING
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2]")
    assert secretfile.MISSING in (secretfile.apply({secretfile.ENV_VAR: str(broken)}) or "")
    assert secretfile.apply({}) is None  # no file expected: nothing to do


def test_a_runtime_folder_that_is_not_ours_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.mkdir()
    link = tmp_path / "run"
    link.symlink_to(target)
    with pytest.raises(secrets.SecretsError):
        secrets.runtime_dir({"COLTEC_RUNTIME_DIR": str(link)})


def test_two_clones_are_two_nexuses(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "codespaces", tmp_path / "b" / "codespaces"
    assert nexus_id(a) != nexus_id(b)
    assert nexus_id(a) == nexus_id(tmp_path / "a" / "." / "codespaces")


def test_the_cause_comes_before_the_stack_trace() -> None:
    log = "\n".join(
        [
            "[2026] Start: Run in container: bash .devcontainer/scripts/post-start.sh",
            "PermissionError: [Errno 13] Permission denied: '/workspace/.coltec'",
            "post-start: sync worker exited at once; last lines of log:",
            "Error: Command failed: bash .devcontainer/scripts/post-start.sh",
            "    at bSe (/node_modules/@devcontainers/cli/dist/spec-node/x.js:1:2)",
            "    at async Promise.all (index 0)",
        ]
    )
    lines = lifecycle.cause_lines(log)
    assert lines[0].startswith("PermissionError")
    assert not [line for line in lines if line.startswith("at ")]


def test_the_container_user_follows_the_caller() -> None:
    assert lifecycle.container_user() == ("root" if os.geteuid() == 0 else "coltec")
