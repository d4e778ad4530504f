"""The guard of cs:up: the docker and compose commands the devcontainer CLI really runs.

First the shims themselves, run as the CLI runs them, on command lines of the shape the
CLI 0.89 builds (recorded from `devcontainer up --docker-path`), with a recording docker
behind them; then (e2e) the real CLI and engine, validation bypassed, so only the guard
stands between a hostile folder and `docker run`; the allowed twins still start.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from coltec.checks.guard import EXIT_REFUSED, guarded
from coltec.workspaces import REPO_ROOT, Workspace
from tests.host.checks.test_hostile import RECORDER, use_case
from tests.support.budget import budget
from tests.support.engine import DockerEngine, Unavailable, rootfs_image, start_engine
from tests.support.mise import tier_unavailable

CLI = str(REPO_ROOT / "node_modules" / ".bin" / "devcontainer")
IMAGE = "coltec/base:latest"


def cli_run(*extra: str, image: str = "vsc-api-1f2e-features") -> list[str]:
    """A `docker run` as devcontainer up 0.89 writes it (options, image, command)."""
    return [
        "run", "--sig-proxy=false", "-a", "STDOUT", "-a", "STDERR",
        "--mount", "type=bind,source=/work/ws,target=/workspace",
        "-l", "devcontainer.local_folder=/work/ws", *extra,
        "--entrypoint", "/bin/sh", image, "-c", "echo Container started\n", "-",
    ]  # fmt: skip


@pytest.fixture
def recorder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "recorder"
    folder.mkdir()
    log = tmp_path / "calls.log"
    log.touch()
    (folder / "docker").write_text(RECORDER.format(log=log))
    (folder / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ['PATH']}")
    return log


def shim(
    folder_args: list[str], *args: str, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    docker = folder_args[folder_args.index("--docker-path") + 1]
    return subprocess.run([docker, *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_allowed_commands_reach_docker_unchanged(acme: Workspace, recorder: Path) -> None:
    with guarded(acme, None) as (args, refused):
        for argv in (
            ["version", "--format", "{{.Server.Version}}"],
            cli_run("--network=host", "--cap-add", "SYS_PTRACE"),
            [*cli_run(image="img"), "-itv", "/:/h"],
        ):
            done = shim(args, *argv)
            assert done.returncode == 1 and "recording docker" in done.stderr, done.stderr
        assert not refused.exists()
    calls = recorder.read_text()
    assert calls.startswith("version --format {{.Server.Version}}\nrun --sig-proxy=false")
    assert calls.rstrip().endswith("img -c echo Container started\n - -itv /:/h")  # the command's


@pytest.mark.parametrize(
    "argv",
    [
        cli_run("--privileged"),
        cli_run("-itv", "/:/host"),
        cli_run("--mount", 'type=bind,"source=/proc/1/root",target=/h'),
        cli_run("--cap-add", "sys_admin"),
        cli_run("--security-opt", "seccomp:unconfined"),
        ["--host", "unix:///var/run/docker.sock", "container", "create", "--pid=host", "img"],
        ["volume", "create", "--opt", "type=none", "--opt", "o=bind", "--opt", "device=/etc", "v"],
    ],
    ids=["privileged", "combined-flags", "proc-root", "cap", "seccomp", "global-opts", "volume"],
)
def test_denied_commands_never_reach_docker(
    acme: Workspace, recorder: Path, argv: list[str]
) -> None:
    with guarded(acme, None) as (args, refused):
        done = shim(args, *argv)
        assert done.returncode == EXIT_REFUSED, done.stderr
        assert "coltec guard refused" in done.stderr and "policy rule '" in done.stderr
        assert refused.read_text().strip() == done.stderr.strip()
    assert recorder.read_text() == ""


def test_refusal_names_the_workspace_file_and_line(acme: Workspace, recorder: Path) -> None:
    use_case(acme, "refused", "privileged-string-false")
    with guarded(acme, None) as (args, _):
        done = shim(args, *cli_run("--privileged"))
    assert done.returncode == EXIT_REFUSED
    assert "'privileged'" in done.stderr and "schema/org-policy.schema.json" in done.stderr
    assert f"{acme.devcontainer_file}:3 ($.privileged)" in done.stderr, done.stderr


def test_what_no_file_asked_for_is_a_feature_or_the_image(acme: Workspace, recorder: Path) -> None:
    with guarded(acme, None) as (args, _):
        done = shim(args, *cli_run("--cap-add", "SYS_MODULE"))
    assert "a Feature or the image's metadata" in done.stderr


def test_builds_use_only_allowed_images(acme: Workspace, recorder: Path, tmp_path: Path) -> None:
    (tmp_path / "Evil.Dockerfile").write_text("FROM docker.io/evil/miner:1\n")
    (tmp_path / "Ok.Dockerfile").write_text(f"FROM {IMAGE}\n")
    (tmp_path / "Features.Dockerfile").write_text(
        "ARG _DEV_CONTAINERS_BASE_IMAGE=scratch\nFROM dev_container_feature_content_temp AS src\n"
        "FROM $_DEV_CONTAINERS_BASE_IMAGE AS target\nCOPY --from=src /x /x\n"
    )
    with guarded(acme, None) as (args, _):
        evil = shim(
            args, "build", "-f", str(tmp_path / "Evil.Dockerfile"), "-t", "x", str(tmp_path)
        )
        assert evil.returncode == EXIT_REFUSED and "evil/miner:1" in evil.stderr
        ok = shim(args, "build", "-t", "dev_container_feature_content_temp", "-f",
                  str(tmp_path / "Ok.Dockerfile"), str(tmp_path))  # fmt: skip
        assert ok.returncode == 1, ok.stderr  # the recorder's answer: it reached docker
        features = shim(args, "build", "--build-arg", f"_DEV_CONTAINERS_BASE_IMAGE={IMAGE}",
                        "--target", "target", "-f", str(tmp_path / "Features.Dockerfile"),
                        "-t", "vsc-x-features", str(tmp_path))  # fmt: skip
        assert features.returncode == 1, features.stderr  # built by this run: allowed
    assert len(recorder.read_text().splitlines()) == 2


def test_compose_up_checks_every_service_of_every_file(acme: Workspace, recorder: Path) -> None:
    use_case(acme, "refused", "compose-sidecar-privileged")
    folder = acme.dir / ".devcontainer"
    (folder / "override.yml").write_text("services:\n  app:\n    labels: [a=b]\n")
    with guarded(acme, None) as (args, _):
        compose = args[args.index("--docker-compose-path") + 1]
        done = subprocess.run(
            [compose, "-f", str(folder / "compose.yaml"), "-f", str(folder / "override.yml"),
             "-p", "api", "up", "-d"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == EXIT_REFUSED, done.stderr
        assert "'privileged'" in done.stderr and "helper" in done.stderr
        as_plugin = shim(args, "compose", "-f", str(folder / "compose.yaml"), "up", "-d")
        assert as_plugin.returncode == EXIT_REFUSED
        version = shim(args, "compose", "version", "--short")
        assert version.returncode == 1  # reached the (recording) docker
    assert recorder.read_text().splitlines() == ["compose version --short"]


# -- the real CLI on the real engine -------------------------------------------------


@pytest.fixture(scope="module")
@budget(300)  # cold: dockerd starts, debootstrap builds the root filesystem (about 60 s)
def engine() -> Iterator[DockerEngine]:
    try:
        found = start_engine()
        tag = rootfs_image(found)
    except Unavailable as exc:
        tier_unavailable("e2e", str(exc))
        raise AssertionError("unreachable") from None
    found.docker("tag", tag, "coltec/base:guard-e2e")
    yield found


def devcontainer_up(ws: Workspace, engine: DockerEngine) -> tuple[dict[str, object], str]:
    """`devcontainer up` behind the guard, validation skipped: (outcome, refusals)."""
    dc = ws.devcontainer_file
    config = json.loads(dc.read_text().replace(IMAGE, "coltec/base:guard-e2e"))
    if "--network=host" not in config.get("runArgs", []):  # this engine has no bridge
        config["runArgs"] = [*config.get("runArgs", []), "--network=host"]
    dc.write_text(json.dumps(config, indent=2))
    label = f"coltec.test=guard-{ws.dir.name}-{os.getpid()}"
    env = {**engine.env(), "COLTEC_SECRETS_DIR": str(ws.dir)}
    with guarded(ws, engine.host) as (args, refused):
        done = subprocess.run(
            [CLI, "up", "--workspace-folder", str(ws.dir), "--config", str(dc),
             "--id-label", label, "--skip-post-create", *args],
            capture_output=True, text=True, env=env, timeout=600, check=False,
        )  # fmt: skip
        refusals = refused.read_text() if refused.is_file() else ""
    lines = [x for x in done.stdout.splitlines() if x.startswith("{")]
    outcome = json.loads(lines[-1]) if lines else {}
    ids = engine.docker("ps", "-aq", "--filter", f"label={label}").split()
    if ids:
        engine.docker("rm", "-f", *ids)
    outcome["containers"] = len(ids)
    return outcome, refusals


@pytest.mark.e2e
@pytest.mark.parametrize(
    "case",
    ["privileged-string-false", "feature-local-privileged", "runargs-combined-short-flags",
     "mounts-symlink-to-root", "runargs-localenv-default-privileged"],
)  # fmt: skip
def test_the_real_cli_is_stopped_by_the_guard(
    case: str, acme: Workspace, engine: DockerEngine
) -> None:
    use_case(acme, "refused", case)
    outcome, refusals = devcontainer_up(acme, engine)
    assert outcome.get("outcome") == "error" and outcome["containers"] == 0, outcome
    assert "coltec guard refused `docker run`" in refusals, refusals


@pytest.mark.e2e
@pytest.mark.parametrize(
    "case", ["network-host-init-ptrace", "feature-local-harmless", "mounts-inside-workspace"]
)
def test_the_allowed_twins_still_start(case: str, acme: Workspace, engine: DockerEngine) -> None:
    use_case(acme, "allowed", case)
    outcome, refusals = devcontainer_up(acme, engine)
    assert (outcome.get("outcome"), refusals) == ("success", ""), outcome
    assert outcome["containers"] == 1
