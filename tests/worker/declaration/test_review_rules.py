"""Issue 24's review, worker side: a reserved remote name and a state directory that is
(or holds) a sync path are refused, through the worker's own command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from tests.worker.helpers import BASELINE, make_spec, read_tree, run_cli, write_tree


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    out = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("RCLONE_CONFIG_") and k not in ("RCLONE_REMOTE_NAME", "RCLONE_BUCKET")
    }
    out.update(HOME=str(tmp_path / "home"), XDG_DATA_HOME="", COLTEC_USER_CONFIG="")
    return out


def _with_rclone_config(config: Path, **rc: object) -> None:
    data = yaml.safe_load(config.read_text())
    data["persistence"]["rclone_config"] = rc
    config.write_text(yaml.safe_dump(data, sort_keys=False))


@pytest.mark.parametrize(
    "name", ["coltec_crypt", "COLTEC_CRYPT", "coltec_r_primary", "coltec_h0_alias"]
)
def test_a_reserved_remote_name_is_refused_in_the_spec(
    env: dict[str, str], tmp_path: Path, name: str
) -> None:
    config = make_spec(tmp_path, [{"name": "data"}])
    _with_rclone_config(
        config, remote_name=name, encryption={"enabled": True, "password_env": "MY_PW"}
    )
    result = run_cli("--config", str(config), "--validate-only", "--json", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    problems = json.loads(result.stdout)["files"][0]["problems"]
    hit = [p for p in problems if p["path"] == "$.persistence.rclone_config.remote_name"]
    assert hit and "reserved" in hit[0]["message"] and hit[0]["line"], problems
    assert "Traceback" not in result.stderr


def test_a_reserved_remote_name_is_refused_from_the_environment(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = make_spec(tmp_path, [{"name": "data"}])
    write_tree(config.parent.parent / "data", BASELINE)
    env = {**env, "RCLONE_REMOTE_NAME": "coltec_crypt", "RCLONE_CONFIG_COLTEC_CRYPT_TYPE": "local"}
    checked = run_cli("--config", str(config), "--validate-only", env=env)
    assert checked.returncode == 1 and "RCLONE_REMOTE_NAME" in checked.stdout
    assert "reserved" in checked.stdout
    before = read_tree(config.parent.parent / "data")
    once = run_cli("--config", str(config), "--once", "--start-delay", "0", env=env)
    assert once.returncode == 2, once.stderr
    assert "reserved" in once.stderr and "Traceback" not in once.stderr
    assert read_tree(config.parent.parent / "data") == before


def test_an_ordinary_remote_name_beside_the_reserved_ones_still_validates(
    env: dict[str, str], tmp_path: Path
) -> None:
    config = make_spec(tmp_path, [{"name": "data"}])
    _with_rclone_config(config, remote_name="coltec_r2")
    assert run_cli("--config", str(config), "--validate-only", env=env).returncode == 0


@pytest.mark.parametrize("where", ["equal", "holds", "symlink"])
def test_a_state_dir_that_is_or_holds_a_sync_path_is_refused_before_any_sync(
    env: dict[str, str], tmp_path: Path, where: str
) -> None:
    config = make_spec(tmp_path, [{"name": "data"}])
    data = config.parent.parent / "data"
    write_tree(data, BASELINE)
    state = {"equal": data, "holds": data.parent}.get(where)
    if state is None:
        state = tmp_path / "link-to-data"
        state.symlink_to(data)
    before = read_tree(data)
    result = run_cli(
        "--config", str(config), "--once", "--start-delay", "0", "--state-dir", str(state), env=env
    )
    assert result.returncode == 2, result.stderr
    last = json.loads(result.stderr.strip().splitlines()[-1])
    assert "state directory" in last["error"] and "sync path data" in last["error"], last
    # the daemon's pidfile is taken before the plan is known: the one file added
    assert {k: v for k, v in read_tree(data).items() if k != "worker.pid"} == before
    remote = tmp_path / "home" / ".local" / "share" / "coltec" / "remote"
    assert read_tree(remote) == {}


def test_a_state_dir_inside_a_sync_path_is_still_fine(env: dict[str, str], tmp_path: Path) -> None:
    config = make_spec(tmp_path, [{"name": "data"}])
    data = config.parent.parent / "data"
    write_tree(data, BASELINE)
    result = run_cli(
        "--config",
        str(config),
        "--once",
        "--start-delay",
        "0",
        "--state-dir",
        str(data / ".state"),
        env=env,
    )
    assert result.returncode == 0, result.stderr
