"""Per-user customization: cs:user, the real worker with user.yaml, and the post-create step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from coltec_worker.usersetup import run as user_setup

from coltec.checks.usercfg import describe
from coltec.template.create import new_workspace
from coltec.workspaces import REPO_ROOT

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.invalid",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.invalid",
}


@pytest.fixture(autouse=True)
def _git(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


def write_user(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "user.yaml"
    path.write_text(text)
    return path


def test_effective_config_names_the_line_of_each_value(tmp_path: Path) -> None:
    path = write_user(tmp_path, "user_id: ana\nenv:\n  EDITOR: vim\n")
    view = describe(str(path))
    rows = {r.field: r for r in view.rows}
    assert view.ok
    assert rows["user_id"].value == "ana" and rows["user_id"].source.endswith("user.yaml:1")
    assert rows["env"].value == {"EDITOR": "vim"}
    assert rows["dotfiles_repo"].source == "default"


def test_no_user_config_is_fine(monkeypatch: pytest.MonkeyPatch) -> None:
    view = describe()
    assert view.ok and view.path == ""
    assert all(r.source == "default" for r in view.rows)


def test_bad_user_config_names_file_line_field_and_hint(tmp_path: Path) -> None:
    path = write_user(tmp_path, "user_id: ana\ndotfile_repo: https://x.invalid/d.git\n")
    [problem] = describe(str(path)).problems
    assert (problem.file, problem.line, problem.path) == (str(path), 2, "$.dotfile_repo")
    assert "unknown key" in problem.message and "dotfiles_repo" in problem.hint


def test_extra_path_colliding_with_a_workspace_is_reported(tmp_path: Path) -> None:
    new_workspace("acme/api", [], defaults=True)
    path = write_user(
        tmp_path,
        "user_id: ana\nextra_sync_paths:\n"
        "  - name: workspace\n    path: /workspace/notes\n"
        "    remote_path: users/{user_id}/notes\n",
    )
    view = describe(str(path))
    assert view.checked_workspaces == 1
    rules = {p.rule for p in view.problems}
    assert {"unique-name", "local-overlap"} <= rules
    assert all(p.file == str(path) and p.line for p in view.problems)


def test_env_clash_with_org_env_is_noted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    policy = tmp_path / "pol"
    (policy / "orgs").mkdir(parents=True)
    (policy / "orgs" / "acme.yaml").write_text("env: {ACME_REGISTRY: ghcr.io/acme}\n")
    monkeypatch.setenv("COLTEC_POLICY_DIR", str(policy))
    new_workspace("acme/api", [], defaults=True)
    view = describe(str(write_user(tmp_path, "env: {ACME_REGISTRY: mine}\n")))
    assert view.ok
    assert any("ACME_REGISTRY" in n and "org value wins" in n for n in view.notes)


def test_cs_user_cli(tmp_path: Path) -> None:
    invoke = Path(sys.executable).parent / "invoke"
    path = write_user(tmp_path, "user_id: ana\nextra_sync_paths: {}\n")
    out = subprocess.run(
        [str(invoke), "user", "--user-config", str(path), "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 1
    data = json.loads(out.stdout)
    assert data["valid"] is False
    assert data["problems"][0]["path"] == "$.extra_sync_paths"


def test_real_worker_merges_the_users_extra_path(tmp_path: Path) -> None:
    created = new_workspace("acme/api", ["persistence_enabled=true"], defaults=True)
    path = write_user(
        tmp_path,
        "user_id: ana\nextra_sync_paths:\n"
        "  - name: notes\n    path: /home/coltec/notes\n"
        "    remote_path: users/{user_id}/notes\n",
    )
    worker = Path(sys.executable).parent / "coltec-worker"
    env = {
        **os.environ,
        "COLTEC_USER_CONFIG": str(path),
        "RCLONE_REMOTE_NAME": "",
        "COLTEC_STATE_DIR": str(tmp_path / "state"),
    }
    checked = subprocess.run(
        [str(worker), "--config", str(created.workspace.spec_file), "--validate-only"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    planned = subprocess.run(
        [str(worker), "--config", str(created.workspace.spec_file), "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "users/ana/notes" in planned.stdout


# -- post-create: org tools and env, dotfiles ---------------------------------------------


def dotfiles_repo(tmp_path: Path, files: dict[str, str], executable: str = "") -> Path:
    repo = tmp_path / "dotfiles-src"
    repo.mkdir()
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    if executable:
        (repo / executable).chmod(0o755)
    for argv in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "dotfiles"]):
        subprocess.run(["git", *argv], cwd=repo, check=True)
    return repo


def setup(
    tmp_path: Path, user_yaml: str, org: dict[str, object] | None = None
) -> tuple[Path, list[dict[str, object]]]:
    home, ws = tmp_path / "home", tmp_path / "ws"
    home.mkdir(exist_ok=True)
    (ws / ".devcontainer").mkdir(parents=True, exist_ok=True)
    if org is not None:
        (ws / ".devcontainer" / "coltec-org.json").write_text(json.dumps(org))
    user = write_user(tmp_path, user_yaml)
    report = user_setup(ws, home, user, dict(os.environ))
    return home, report.steps


def test_install_script_runs_first_of_the_convention(tmp_path: Path) -> None:
    repo = dotfiles_repo(
        tmp_path,
        {
            "install.sh": '#!/bin/sh\necho installed > "$HOME/marker"\n',
            "bootstrap": '#!/bin/sh\necho wrong > "$HOME/marker"\n',
            ".vimrc": "set nu\n",
        },
        executable="install.sh",
    )
    home, steps = setup(tmp_path, f"dotfiles_repo: {repo}\n")
    assert (home / "marker").read_text() == "installed\n"
    assert not (home / ".vimrc").exists()  # an install script means: no symlinks
    assert all(s["ok"] for s in steps), steps


def test_non_executable_script_in_subfolder_runs_with_bash(tmp_path: Path) -> None:
    repo = dotfiles_repo(tmp_path, {"script/setup": 'echo ok > "$HOME/marker"\n'})
    home, _ = setup(tmp_path, f"dotfiles_repo: {repo}\n")
    assert (home / "marker").read_text() == "ok\n"


def test_dotfiles_install_command_wins(tmp_path: Path) -> None:
    repo = dotfiles_repo(tmp_path, {"install.sh": "exit 1\n", "mine.sh": 'touch "$HOME/m"\n'})
    home, steps = setup(tmp_path, f"dotfiles_repo: {repo}\ndotfiles_install: bash mine.sh\n")
    assert (home / "m").exists()
    assert steps[-1]["ok"]


def test_without_script_dotfiles_are_symlinked_never_over_a_file(tmp_path: Path) -> None:
    repo = dotfiles_repo(
        tmp_path, {".vimrc": "set nu\n", ".bashrc": "alias x=y\n", "README.md": "mine\n"}
    )
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / ".bashrc").write_text("# the image's\n")
    home, steps = setup(tmp_path, f"dotfiles_repo: {repo}\n")
    assert (home / ".vimrc").is_symlink()
    assert (home / ".vimrc").read_text() == "set nu\n"
    assert not (home / ".bashrc").is_symlink()
    assert not (home / "README.md").exists() and not (home / ".git").exists()
    assert "kept existing ['.bashrc']" in str(steps[-1]["detail"])


def test_failing_dotfiles_are_reported_never_raised(tmp_path: Path) -> None:
    repo = dotfiles_repo(tmp_path, {"install.sh": "echo boom >&2; exit 3\n"})
    _, steps = setup(tmp_path, f"dotfiles_repo: {repo}\n")
    assert steps[-1]["ok"] is False and "exit 3" in str(steps[-1]["detail"])
    _, steps = setup(tmp_path, "dotfiles_repo: /nonexistent/dotfiles.git\n")
    assert any(s["step"] == "dotfiles clone" and not s["ok"] for s in steps)


def test_post_create_cli_exits_zero_even_when_dotfiles_fail(tmp_path: Path) -> None:
    user = write_user(tmp_path, "dotfiles_repo: /nonexistent/dotfiles.git\n")
    (tmp_path / "home").mkdir()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "coltec_worker.usersetup",
            "--workspace",
            str(tmp_path),
            "--home",
            str(tmp_path / "home"),
            "--user-config",
            str(user),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0
    assert "dotfiles clone: FAILED" in out.stderr


def test_org_tools_and_env(tmp_path: Path) -> None:
    org = {
        "tools": ["jq@1.7.1", "npm:prettier"],
        "env": {"ACME_REGISTRY": "ghcr.io/acme", "QUOTED": "a b'c"},
    }
    home, steps = setup(tmp_path, "env: {ACME_REGISTRY: mine, EDITOR: vim}\n", org)
    conf = (home / ".config" / "mise" / "conf.d" / "coltec-org.toml").read_text()
    assert '"jq" = "1.7.1"' in conf and '"npm:prettier" = "latest"' in conf
    tools = next(s for s in steps if s["step"] == "org tools")
    assert "jq@1.7.1" in str(tools["detail"])  # installed or not (offline), it is reported
    env_sh = home / ".local" / "share" / "coltec" / "env.sh"
    shown = subprocess.run(
        ["bash", "-c", f'. {env_sh}; echo "$ACME_REGISTRY|$EDITOR|$QUOTED"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert shown == "ghcr.io/acme|vim|a b'c\n"  # the org's value wins over the user's
    setup(tmp_path, "env: {}\n", org)  # again: the rc files get the source line once
    assert (home / ".bashrc").read_text().count("coltec: org and user environment") == 1


# -- a user's extra paths are judged as the folders they really are ----------------------


def _extra(tmp_path: Path, path: str, name: str = "notes") -> Path:
    return write_user(
        tmp_path,
        f"user_id: ana\nextra_sync_paths:\n  - name: {name}\n    path: {path}\n"
        "    remote_path: users/{user_id}/" + name + "\n",
    )


def _cs_user(path: Path) -> dict[str, object]:
    invoke = Path(sys.executable).parent / "invoke"
    out = subprocess.run(
        [str(invoke), "user", "--user-config", str(path), "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert "Traceback" not in out.stderr
    data: dict[str, object] = json.loads(out.stdout)
    data["exit"] = out.returncode
    return data


@pytest.mark.parametrize(
    "spelling", ["/proc/self/root", "/proc/1/root/home", "/proc/self/cwd", "link-to-root"]
)
def test_an_extra_path_naming_root_by_another_name_is_refused(
    tmp_path: Path, spelling: str
) -> None:
    new_workspace("acme/api", ["persistence_enabled=true"], defaults=True)
    if spelling == "link-to-root":
        (tmp_path / "link").symlink_to("/")
        spelling = str(tmp_path / "link")
    data = _cs_user(_extra(tmp_path, spelling))
    assert data["exit"] == 1, data
    problems = data["problems"]
    assert isinstance(problems, list)
    hits = [p for p in problems if p["path"] == "$.extra_sync_paths[0].path"]
    assert hits and hits[0]["rule"] == "local-path" and hits[0]["line"] == 4, problems


def test_an_extra_path_symlinked_onto_a_workspace_path_overlaps_it(tmp_path: Path) -> None:
    created = new_workspace("acme/api", ["persistence_enabled=true"], defaults=True)
    from coltec_worker.declaration.pipeline import validate_file

    own = validate_file(created.workspace.spec_file, with_user=False).spec
    assert own is not None and own.persistence.sync
    target = own.persistence.sync[0].path
    (tmp_path / "alias").symlink_to(target)
    data = _cs_user(_extra(tmp_path, str(tmp_path / "alias" / "sub")))
    assert data["exit"] == 1, data
    problems = data["problems"]
    assert isinstance(problems, list)
    overlap = [p for p in problems if p["rule"] == "local-overlap"]
    assert overlap and f"really {target}/sub" in overlap[0]["message"], problems
    worker = Path(sys.executable).parent / "coltec-worker"
    env = {**os.environ, "COLTEC_USER_CONFIG": str(tmp_path / "user.yaml")}
    checked = subprocess.run(
        [str(worker), "--config", str(created.workspace.spec_file), "--validate-only"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 1 and "really" in checked.stdout, checked.stdout


def test_an_extra_path_symlinked_to_an_ordinary_folder_is_fine(tmp_path: Path) -> None:
    new_workspace("acme/api", ["persistence_enabled=true"], defaults=True)
    (tmp_path / "real-notes").mkdir()
    (tmp_path / "notes-link").symlink_to(tmp_path / "real-notes")
    data = _cs_user(_extra(tmp_path, str(tmp_path / "notes-link")))
    assert data["exit"] == 0 and data["problems"] == [], data
