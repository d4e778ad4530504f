"""coltec/cli: the edge every mise task goes through (invoke parses, errors render once)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.closedpipe import QUIET_EXIT_1, closed_pipe_run
from tests.support.mise import MISE, mise_env, mise_run

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_a_reader_that_goes_away_is_exit_1_without_a_traceback() -> None:
    """`mise run cs:list --json | head -1`: the rest of the output has nowhere to go."""
    outcomes = closed_pipe_run(
        [sys.executable, str(REPO_ROOT / "tasks.py"), "list", "--json"], dict(os.environ), REPO_ROOT
    )
    assert outcomes == QUIET_EXIT_1


@pytest.mark.parametrize(
    ("task", "usage", "option"),
    [
        # a required ORG/NAME: invoke alone would take --help as it
        ("cs:move", "cs:move ORG/NAME [--options]", "--to"),
        # everything after ORG/NAME is the command's
        ("cs:exec", "cs:exec ORG/NAME [CMD...] [--options]", "--workspace"),
        ("cs:new", "cs:new ORG/NAME [--options]", "--data"),
        ("cs:validate", "cs:validate [TARGET...] [--options]", "--explain"),
        ("cs:list", "cs:list [ORG/NAME...] [--options]", "--json"),
    ],
)
def test_help_of_every_shape_of_task_explains_its_options(
    task: str, usage: str, option: str
) -> None:
    """`mise run TASK -- --help` (mise drops the first `--`): exit 0, no side effect."""
    result = mise_run(task, "--", "--help")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"Usage: mise run {usage}\n"), result.stdout
    assert option in result.stdout and "Docstring:" in result.stdout
    assert "error:" not in result.stderr


def test_exec_passes_help_after_the_workspace_to_the_command() -> None:
    result = mise_run("cs:exec", "--", "no/such", "ls", "--help")
    assert result.returncode == 2
    assert "no workspace 'no/such'" in result.stderr and "Docstring:" not in result.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["cs:new", "team/x", "--data"], "--data needs a value"),
        (["cs:new", "team/x", "--data", "--defaults"], "--data needs a value"),
        (["cs:validate", "--target"], "--target needs a value"),
        (["cs:up", "team/x", "--host"], "--host needs a value"),
        (["cs:move", "--bogus"], "unknown option --bogus"),  # not taken for the ORG/NAME
    ],
)
def test_an_option_without_its_value_is_a_usage_error(
    args: list[str], says: str, tmp_path: Path
) -> None:
    result = mise_run(*args)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"error: {says}" in result.stderr and "hint:" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "codespaces" / "team").exists()  # COLTEC_CODESPACES_DIR (conftest)


# --- issue 20 item 4: task interfaces that cannot mislead ---------------------------------

NO_ENGINE = "unix:///nonexistent/coltec-test-docker.sock"
MISE_FAILED = re.compile(r"\[[\w:-]+\].*ERROR.*task failed")  # mise's own line
MISE_TASKS = [
    "test", "demo", "bench", "cs:validate", "cs:user", "cs:discover", "cs:new", "cs:update",
    "cs:outdated", "cs:adopt", "cs:image", "cs:up", "cs:up-rebuild", "cs:down", "cs:list",
    "cs:exec", "cs:logs", "cs:hosts", "cs:move",
]  # fmt: skip


def _workspace(tmp_path: Path, key: str = "acme/api") -> dict[str, str]:
    """A workspace folder (what the tasks look for) and an environment without an engine."""
    (tmp_path / "codespaces" / key / ".devcontainer").mkdir(parents=True)
    return {**os.environ, "DOCKER_HOST": NO_ENGINE}


def test_exec_options_after_the_workspace_are_its_options(tmp_path: Path) -> None:
    """`--docker-host` after ORG/NAME picks the engine; it is not sent as the command."""
    env = _workspace(tmp_path)
    other = f"unix://{tmp_path}/other.sock"
    result = mise_run("cs:exec", "acme/api", "--docker-host", other, "ls", "-la", env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"no Docker engine answers at {other}" in result.stderr
    assert "nonexistent" not in result.stderr


@pytest.mark.parametrize(
    ("words", "says"),
    [
        (["--bogus", "ls"], "error: unknown option --bogus"),
        (["ls", "--docker-host", "unix:///x.sock"], "error: --docker-host after the command"),
        (["ls", "--docker-host=unix:///x.sock"], "error: --docker-host after the command"),
    ],
)
def test_exec_refuses_an_option_it_would_send_as_the_command(
    words: list[str], says: str, tmp_path: Path
) -> None:
    result = mise_run("cs:exec", "acme/api", *words, env=_workspace(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert says in result.stderr and "hint:" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["cs:up", "no/such"],
        ["cs:up", "acme/api", "no/such"],
        ["cs:up-rebuild", "no/such"],
        ["cs:down", "no/such"],
        ["cs:exec", "no/such", "ls"],
        ["cs:logs", "no/such"],
        ["cs:move", "no/such", "--to", "h2"],
        ["cs:update", "no/such"],
        ["cs:validate", "no/such"],
    ],
)
def test_an_unknown_workspace_is_named_with_the_way_to_list_them(
    args: list[str], tmp_path: Path
) -> None:
    result = mise_run(*args, env=_workspace(tmp_path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error: no workspace 'no/such'" in result.stderr
    assert "mise run cs:list" in result.stderr and "acme/api" in result.stderr
    assert "Traceback" not in result.stderr and "final sync" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["cs:up", "acme/api"],
        ["cs:up", "--all"],
        ["cs:up-rebuild", "acme/api"],
        ["cs:down", "acme/api"],
        ["cs:down", "--all"],
        ["cs:exec", "acme/api", "ls"],
    ],
)
def test_no_engine_is_one_error_line_and_its_hint_before_any_progress(args: list[str]) -> None:
    env = {**os.environ, "DOCKER_HOST": NO_ENGINE}
    made = mise_run("cs:new", "acme/api", "--defaults", env=env)  # valid: cs:up checks first
    assert made.returncode == 0, made.stdout + made.stderr
    result = mise_run(*args, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    # mise's own "[cs:X] ERROR task failed" line (coloured where mise decides, e.g. CI=true)
    ours = [line for line in result.stderr.splitlines() if not MISE_FAILED.search(line)]
    assert len(ours) == 2, ours
    assert ours[0].startswith(f"error: no Docker engine answers at {NO_ENGINE}: ")
    assert ours[1].startswith("  hint: start an engine")
    assert result.stdout == ""


def test_logs_without_an_engine_says_so_in_one_line_and_reads_the_host_copy(
    tmp_path: Path,
) -> None:
    env = _workspace(tmp_path)
    state = tmp_path / "codespaces" / "acme" / "api" / ".coltec" / "state"
    state.mkdir(parents=True)
    (state / "worker.log").write_text('{"event": "synced"}\n')
    result = mise_run("cs:logs", "acme/api", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == '{"event": "synced"}\n'
    (note,) = result.stderr.splitlines()
    assert note.startswith(f"no Docker engine answers at {NO_ENGINE}: ")
    assert note.endswith("; reading the host copy")


def test_move_says_it_moves_only_once_its_checks_passed(tmp_path: Path) -> None:
    result = mise_run("cs:move", "acme/api", "--to", "h2", env=_workspace(tmp_path))
    assert result.returncode == 2 and "needs a hosts file" in result.stderr
    assert "moving" not in result.stdout + result.stderr


@pytest.mark.parametrize("task", MISE_TASKS)
def test_every_task_prints_its_version(task: str) -> None:
    for flag in ("--version", "-V"):
        result = mise_run(task, flag)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("coltec 0.1.0 (coltec-worker 0.1.0)\n"), result.stdout


def test_every_entry_point_prints_its_version() -> None:
    bin_ = REPO_ROOT / ".venv" / "bin"
    for name in ("coltec-worker", "coltec-daemon", "coltec-validate"):
        for flag in ("--version", "-V"):
            done = subprocess.run([str(bin_ / name), flag], capture_output=True, text=True)
            assert done.returncode == 0 and done.stdout == f"{name} 0.1.0\n", done
    for argv in (
        [str(bin_ / "invoke"), "validate", "--version"],
        [sys.executable, "tasks.py", "--version"],
        [sys.executable, "tasks.py", "-V"],
    ):
        done = subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout.startswith("coltec 0.1.0"), done


SHORT_FLAG = re.compile(r"^\s+-(\w)(?: \w+)?, --([\w-]+)")


def test_each_short_flag_means_one_option_in_every_task() -> None:
    """`-d` is not --data here and --dry-run there; -h is only help, -V the version."""
    meanings: dict[str, set[str]] = {}
    for task in MISE_TASKS:
        result = mise_run(task, "--help")
        assert result.returncode == 0, result.stdout + result.stderr
        for line in result.stdout.splitlines():
            if found := SHORT_FLAG.match(line):
                meanings.setdefault(found[1], set()).add(found[2])
    assert meanings["V"] == {"version"} and "h" not in meanings
    assert {letter: names for letter, names in meanings.items() if len(names) > 1} == {}


@pytest.mark.parametrize(("task", "option"), [("cs:new", "--data"), ("cs:up", "--jobs")])
def test_mise_help_of_a_task_shows_its_options(task: str, option: str) -> None:
    result = mise_run(task, "--help")
    assert result.returncode == 0, result.stdout + result.stderr
    assert option in result.stdout and "does not accept any arguments" not in result.stdout
    info = subprocess.run(
        [MISE, "tasks", "info", task], cwd=REPO_ROOT, env=mise_env(), capture_output=True,
        text=True,
    )  # fmt: skip
    assert f"flag {option} help=" in info.stdout, info.stdout


def test_mise_toml_usage_agrees_with_the_task_declarations() -> None:
    from coltec.cli.usage import disagreements, load_tasks, usages

    assert disagreements(REPO_ROOT / "mise.toml", usages(load_tasks())) == []


@pytest.mark.parametrize("task", ["test", "demo", "bench"])
def test_project_tasks_have_the_cs_tasks_errors(task: str) -> None:
    result = mise_run(task, "--bogus")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "error: unknown option --bogus" in result.stderr and "hint:" in result.stderr


# --- issue 20 item 5: output people and scripts can use -----------------------------------

LONG_ORG, LONG_NAME = "platform-engineering-team", "x" * 40 + "-continuous-integration"


def _new(env: dict[str, str], key: str, *data: str) -> None:
    args = [a for d in data for a in ("--data", d)]
    made = mise_run("cs:new", key, "--defaults", *args, env=env)
    assert made.returncode == 0, made.stdout + made.stderr


@pytest.fixture
def nexus_env() -> dict[str, str]:
    """Three workspaces of two orgs (one with a long id and a description), no engine."""
    env = {**os.environ, "DOCKER_HOST": NO_ENGINE, "COLUMNS": "80"}
    _new(env, f"{LONG_ORG}/{LONG_NAME}", "description=Builds every pull request of the org")
    _new(env, "acme/api")
    _new(env, "acme/web", "description=The storefront")
    return env


def test_list_piped_keeps_every_id_whole_and_no_trailing_spaces(nexus_env: dict[str, str]) -> None:
    result = mise_run("cs:list", env=nexus_env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith(f"{LONG_ORG}/{LONG_NAME}  ") for line in lines), result.stdout
    assert [line for line in lines if line != line.rstrip()] == []
    assert "DESCRIPTION" in lines[0]
    assert "The storefront" in next(line for line in lines if line.startswith("acme/web "))
    assert "Builds every pull request" in result.stdout


def test_list_json_has_the_description(nexus_env: dict[str, str]) -> None:
    data = json.loads(mise_run("cs:list", "--json", env=nexus_env).stdout)
    described = {w["workspace"]: w["description"] for w in data["workspaces"]}
    assert described["acme/web"] == "The storefront" and described["acme/api"] == ""


@pytest.mark.parametrize(
    ("words", "listed"),
    [
        (["acme"], ["acme/api", "acme/web"]),
        (["acme/"], ["acme/api", "acme/web"]),
        (["acme/web"], ["acme/web"]),
        (["acme/web", LONG_ORG], [f"{LONG_ORG}/{LONG_NAME}", "acme/web"]),
    ],
)
def test_list_takes_an_org_or_workspace_filter(
    words: list[str], listed: list[str], nexus_env: dict[str, str]
) -> None:
    data = json.loads(mise_run("cs:list", *words, "--json", env=nexus_env).stdout)
    assert sorted(w["workspace"] for w in data["workspaces"]) == sorted(listed)
    table = mise_run("cs:list", *words, env=nexus_env).stdout.splitlines()[1:]
    assert sorted(line.split()[0] for line in table if not line.startswith(" ")) == sorted(listed)


@pytest.mark.parametrize(
    ("word", "says"),
    [("nope", "no workspaces in nope/"), ("acme/nope", "no workspace 'acme/nope'")],
)
def test_list_of_an_unknown_org_or_workspace_is_a_usage_error(
    word: str, says: str, nexus_env: dict[str, str]
) -> None:
    result = mise_run("cs:list", word, env=nexus_env)
    assert result.returncode == 2 and f"error: {says}" in result.stderr, result.stderr
    assert "mise run cs:list" in result.stderr and result.stdout == ""


def test_list_puts_a_note_many_workspaces_share_on_one_stderr_line(
    nexus_env: dict[str, str], tmp_path: Path
) -> None:
    hosts = tmp_path / "hosts.yaml"
    hosts.write_text(
        "hosts:\n"
        f"  - {{name: h1, docker_host: 'unix://{tmp_path}/h1.sock'}}\n"
        f"  - {{name: h2, docker_host: 'unix://{tmp_path}/h2.sock'}}\n"
    )
    env = {**nexus_env, "COLTEC_HOSTS": str(hosts)}
    env.pop("DOCKER_HOST")
    result = mise_run("cs:list", env=env)
    assert result.returncode == 0, result.stderr
    assert "not asked" not in result.stdout
    notes = [line for line in result.stderr.splitlines() if "not asked: h1, h2" in line]
    assert notes == [
        f"acme/api, acme/web, {LONG_ORG}/{LONG_NAME}: not on any reachable host; not asked: h1, h2"
    ]


def test_list_piped_escapes_terminal_controls_in_a_description(nexus_env: dict[str, str]) -> None:
    spec = Path(os.environ["COLTEC_CODESPACES_DIR"]) / "acme/api/.devcontainer/workspace-spec.yaml"
    text = spec.read_text()
    spec.write_text(text.replace('description: ""', 'description: "evil\\e[2J\\u202e"', 1))
    result = mise_run("cs:list", env=nexus_env)
    assert "\x1b" not in result.stdout and "\u202e" not in result.stdout
    assert "evil\\x1b[2J\\u202e" in result.stdout


def _spec(key: str) -> Path:
    return Path(os.environ["COLTEC_CODESPACES_DIR"]) / key / ".devcontainer/workspace-spec.yaml"


@pytest.fixture
def strict_org() -> dict[str, str]:
    """acme/api under an org policy stricter than the schema (interval >= 60, no push-only)."""
    orgs = Path(os.environ["COLTEC_POLICY_DIR"]) / "orgs"
    orgs.mkdir()
    (orgs / "acme.yaml").write_text(
        'version: "1"\nrules:\n  interval: {min: 60, max: 3600}\n'
        "  allowed_directions: [pull-only, bidirectional]\n"
    )
    env = dict(os.environ)
    _new(env, "acme/api")
    return env


@pytest.mark.parametrize(
    ("key", "bad", "suggested"),
    [
        ("interval", "5", re.compile(r"use at (?:least|most) (\d+)")),
        ("direction", "pushonly", re.compile(r"(?:did you mean '|use one of: )([\w-]+)")),
    ],
)
def test_validate_hints_suggest_a_value_that_passes(
    key: str, bad: str, suggested: re.Pattern[str], strict_org: dict[str, str]
) -> None:
    spec = _spec("acme/api")
    good = spec.read_text()
    line = re.compile(rf"^(\s+{key}:) .*$", re.M)
    spec.write_text(line.sub(rf"\1 {bad}", good, count=1))
    result = mise_run("cs:validate", "acme/api", "--json", env=strict_org)
    assert result.returncode == 1, result.stdout + result.stderr
    (problem,) = json.loads(result.stdout)["files"][0]["problems"]
    found = suggested.search(problem["hint"])
    assert found, problem
    spec.write_text(line.sub(rf"\g<1> {found[1]}", good, count=1))
    again = mise_run("cs:validate", "acme/api", env=strict_org)
    assert again.returncode == 0, (problem["hint"], again.stdout)


def test_validate_checks_a_file_named_twice_once(strict_org: dict[str, str]) -> None:
    spec = _spec("acme/api")
    spec.write_text(re.sub(r"interval: \d+", "interval: 5", spec.read_text(), count=1))
    result = mise_run(
        "cs:validate", "acme/api", str(spec.parent.parent), str(spec), "--json", env=strict_org
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert [f["file"] for f in json.loads(result.stdout)["files"]] == [str(spec)]
    text = mise_run("cs:validate", "acme/api", "acme/api", env=strict_org).stdout
    assert "0/1 valid, 1 problem(s)" in text


@pytest.mark.parametrize(
    ("args", "label"),
    [(["cs:validate"], "validating"), (["cs:outdated"], "checking"),
     (["cs:update", "--all", "--dry-run"], "updating")],
)  # fmt: skip
def test_long_commands_piped_print_a_progress_line_per_workspace_on_stderr(
    args: list[str], label: str, nexus_env: dict[str, str]
) -> None:
    result = mise_run(*args, env=nexus_env, timeout=300)
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"{label} ")]
    keys = sorted(["acme/api", "acme/web", f"{LONG_ORG}/{LONG_NAME}"])
    assert [line.rsplit(" ", 1)[1] for line in lines] == ["(1/3)", "(2/3)", "(3/3)"], lines
    for line, key in zip(lines, keys, strict=True):
        assert key in line
    assert label not in result.stdout
