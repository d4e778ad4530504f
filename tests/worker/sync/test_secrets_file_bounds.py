"""The secrets file as the worker reads it: bounded, never a hang or a traceback, and
never a way to set a process-steering variable (issue 24, item 4)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from coltec_worker.declaration import secretfile
from coltec_worker.declaration.variables import Unset, expand, is_system_variable, variables_in

from tests.worker.helpers import make_spec, run_cli


def _special(tmp_path: Path, kind: str) -> str:
    if kind == "fifo":
        path = tmp_path / "secrets.json"
        os.mkfifo(path)  # nobody writes it: a blocking open() would wait forever
        return str(path)
    if kind == "directory":
        (tmp_path / "secrets.json").mkdir()
        return str(tmp_path / "secrets.json")
    if kind == "huge":
        path = tmp_path / "secrets.json"
        path.write_text('{"A": "' + "x" * (secretfile.MAX_BYTES + 10) + '"}')
        return str(path)
    return "/dev/zero"  # endless: an unbounded read fills the memory


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "directory", "huge"])
def test_a_file_that_is_not_a_secrets_file_is_reported_at_once(tmp_path: Path, kind: str) -> None:
    env = {secretfile.ENV_VAR: _special(tmp_path, kind), "KEEP": "me"}
    problem = secretfile.apply(env)
    assert problem is not None and problem.startswith(secretfile.MISSING)
    assert env == {secretfile.ENV_VAR: env[secretfile.ENV_VAR], "KEEP": "me"}


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero"])
def test_the_worker_says_so_in_one_line_without_a_traceback(tmp_path: Path, kind: str) -> None:
    config = make_spec(tmp_path, [{"name": "data"}])
    env = {
        **os.environ,
        "HOME": str(tmp_path / "home"),
        "COLTEC_USER_CONFIG": "",
        secretfile.ENV_VAR: _special(tmp_path, kind),
    }
    done = run_cli("--config", str(config), "--once", env=env, timeout=60)
    assert done.returncode == 1
    assert "secrets missing: run cs:up" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize("name", ["PATH", "LD_PRELOAD", "PYTHONPATH", "RCLONE_CONFIG", "HOME"])
def test_a_secrets_file_may_not_set_a_system_variable(tmp_path: Path, name: str) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(secretfile.dumps({"RCLONE_CONFIG_R2_ACCESS_KEY_ID": "key-1", name: "/evil"}))
    env = {secretfile.ENV_VAR: str(path), name: "/usr/bin"}
    problem = secretfile.apply(env)
    assert problem is not None and f"system variable {name}" in problem
    assert env[name] == "/usr/bin" and "RCLONE_CONFIG_R2_ACCESS_KEY_ID" not in env


def test_variables_expand_once_and_an_unset_one_is_named() -> None:
    env = {"R2_BUCKET": "team-bkt", "LOOP": "$R2_BUCKET", "EMPTY": ""}
    assert variables_in("${R2_BUCKET}/$LOOP-x $ 5$") == ["R2_BUCKET", "LOOP"]
    assert expand("s3-${R2_BUCKET}", env) == "s3-team-bkt"
    assert expand("$LOOP", env) == "$R2_BUCKET"  # one pass: a value is not expanded again
    assert expand("a $ b ${ c", env) == "a $ b ${ c"  # no name: kept as written
    for text, missing in (("${NOPE}", "NOPE"), ("$EMPTY", "EMPTY"), ("${PATH}", "PATH")):
        with pytest.raises(Unset) as caught:
            expand(text, {**env, "PATH": "/bin"})
        assert caught.value.name == missing


def test_system_variables() -> None:
    system = ["PATH", "HOME", "LD_PRELOAD", "LD_LIBRARY_PATH", "PYTHONPATH", "PYTHONHOME"]
    system += ["BASH_ENV", "RCLONE_CONFIG", "COLTEC_SECRETS_FILE", "XDG_CONFIG_HOME"]
    assert all(is_system_variable(n) for n in system)
    mine = ["R2_SECRET_ACCESS_KEY", "COLTEC_CRYPT_PASSWORD", "RCLONE_CONFIG_R2_ENDPOINT"]
    assert not any(is_system_variable(n) for n in [*mine, "AWS_ACCESS_KEY_ID"])
