"""Workspace lifecycle: up (devcontainer up), checked until the sync worker runs.

The devcontainer CLI creates and starts containers; it has no stop, down or list, so
those use docker with coltec's labels: `coltec.workspace=ORG/NAME` and
`coltec.config-hash=<hash of .devcontainer/>`. Both are id-labels of `devcontainer up`,
so the CLI finds the container again by them. A container whose configuration has
drifted is therefore started as it is (with its own hash), and reported as drifted;
`up --rebuild` removes it and creates a new one from the current files.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from coltec import jsonc, proc
from coltec.checks.guard import guarded
from coltec.checks.run import validate_files
from coltec.errors import LifecycleError
from coltec.runtime import secrets
from coltec.runtime.docker import (
    LABEL_CONFIG_HASH,
    LABEL_NEXUS,
    LABEL_WORKSPACE,
    WORKER_LOG,
    Container,
    DockerEngine,
    container_for,
    ping,
    require_container,
)
from coltec.runtime.drift import config_hash
from coltec.runtime.image import default_tag, image_exists
from coltec.runtime.running import down
from coltec.template.org_install import write_org_install
from coltec.workspaces import Workspace, nexus_id

UP_TIMEOUT = 3600.0  # a first build can pull and install a lot
WORKER_CHECKS, WORKER_CHECK_PAUSE = 5, 1.0  # post-start.sh waits 1 s itself


@dataclass(frozen=True)
class UpResult:
    workspace: str
    container_id: str
    remote_user: str
    config_hash: str
    drifted: bool  # an existing container kept its older configuration
    rebuilt: bool


def validate_workspace(ws: Workspace) -> None:
    """The same check as `cs:validate`; refuse to start an invalid workspace."""
    run = validate_files([ws.spec_file])
    if run.ok:
        return
    problems = [p for r in run.reports for p in r.problems] + list(run.unreadable)
    lines = "\n".join("  " + p.format().replace("\n", "\n  ") for p in problems)
    raise LifecycleError(
        f"{ws.key} is invalid; not starting it\n{lines}", f"see `mise run cs:validate {ws.key}`"
    )


def raise_refused(ws: Workspace, refused: Path) -> None:
    """LifecycleError with the guard's refusals, if it refused any docker command."""
    if refused.is_file():
        lines = [line for line in refused.read_text(encoding="utf-8").splitlines() if line]
        raise LifecycleError(
            f"{ws.key}: not started, the org policy refused it\n"
            + "\n".join(f"  {x}" for x in lines),
            "remove what the rule names, or record an exception for that rule in "
            f"{ws.dir / '.copier-answers.yml'} (see the README, 'Org policy')",
        )


def up_argv(
    devcontainer: str, ws: Workspace, nexus: str, label_hash: str, *, rebuild: bool
) -> list[str]:
    argv = [
        devcontainer,
        "up",
        "--workspace-folder",
        str(ws.dir),
        # the file cs:validate checked, never a .devcontainer.json beside it
        "--config",
        str(ws.devcontainer_file),
        "--id-label",
        f"{LABEL_WORKSPACE}={ws.key}",
        "--id-label",
        f"{LABEL_NEXUS}={nexus}",
        "--id-label",
        f"{LABEL_CONFIG_HASH}={label_hash}",
        # devcontainer's own labels, which it drops when given --id-label: with them,
        # editors that find containers by folder (VS Code) find this one too.
        "--id-label",
        f"devcontainer.local_folder={ws.dir}",
        "--id-label",
        f"devcontainer.config_file={ws.devcontainer_file}",
    ]
    if os.geteuid() == 0:
        # A root caller gets a root container user (COLTEC_CONTAINER_USER), and uid 0
        # cannot be remapped anyway: skip the per-uid image build the remap costs.
        argv += ["--update-remote-user-uid-default", "never"]
    if rebuild:
        argv += ["--remove-existing-container", "--build-no-cache"]
    return argv


def container_user() -> str:
    """The container's user: root for a root caller, else coltec remapped to the caller's uid.

    devcontainer's UID remap cannot give uid 0 to coltec, and a root caller's workspace
    folder is root's: only a root container user can write it, and what it writes stays
    root's on the host — as the caller's own files are.
    """
    return "root" if os.geteuid() == 0 else "coltec"


def parse_outcome(stdout: str) -> dict[str, object]:
    """The JSON outcome line `devcontainer up` prints last on stdout ({} if none)."""
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(data, dict) and "outcome" in data:
                return data
    return {}


# Lines of devcontainer's log that say why, rather than how (Node.js stack frames).
_CAUSE = re.compile(
    r"(post-start:|post-create:|error|Error|denied|not found|No such|invalid|"
    r"\"level\": ?\"error\")"
)


def cause_lines(log: str, limit: int = 12) -> list[str]:
    """The lines of a devcontainer log that name the cause, without stack frames."""
    keep = []
    for line in log.splitlines():
        text = line.strip()
        if not text or text.startswith("at ") or text.startswith('{"outcome"'):
            continue
        if _CAUSE.search(text):
            keep.append(text)
    return keep[-limit:]


def require_image(engine: DockerEngine, ws: Workspace) -> None:
    """The coltec base image the workspace names exists here, or the hint to build it."""
    try:
        image = str(
            jsonc.loads(ws.devcontainer_file.read_text(encoding="utf-8")).get("image") or ""
        )
    except (OSError, ValueError, AttributeError):
        return  # devcontainer reports an unreadable file itself
    if not image or image.partition(":")[0] != default_tag().partition(":")[0]:
        return  # another image: devcontainer pulls or builds it
    if not image_exists(engine, image):
        raise LifecycleError(
            f"{ws.key}: the image {image} does not exist on {engine.where}",
            f"build it with `mise run cs:image --tag {image}`",
        )


def prepare_up(
    engine: DockerEngine, ws: Workspace, *, rebuild: bool
) -> tuple[str, str, str, bool, str, dict[str, str]]:
    """What every `cs:up` does before `devcontainer up`, on a local or a remote host.

    Validates, writes the org install file, checks the engine, the CLI and the image, and
    (rebuild) removes the container. Returns (devcontainer, nexus, config hash now,
    whether it was running, the config hash to label it with, the secrets' values).
    """
    validate_workspace(ws)
    write_org_install(ws)  # org tools/env for post-create, from policy/ as it is now
    ping(engine)
    devcontainer = proc.require("devcontainer", "run ./dev setup (installs @devcontainers/cli)")
    require_image(engine, ws)
    nexus, current = nexus_id(), config_hash(ws)
    existing = container_for(engine, ws)
    if rebuild and existing is not None:
        # /workspace is a bind mount (local) or a named volume that `rm --volumes` keeps
        # (remote), and the worker's state lives there: nothing is lost by removing it;
        # the flush is a courtesy to the remote's freshness.
        down(engine, ws, remove=True, force=True)
        existing = None
    was_running = existing is not None and existing.running
    label_hash = existing.config_hash if existing and existing.config_hash else current
    values = secrets.for_workspace(ws.spec_file, secrets.source_env(cwd=str(ws.dir)))
    return devcontainer, nexus, current, was_running, label_hash, values


def up(
    engine: DockerEngine, ws: Workspace, *, rebuild: bool = False, id_labels: Sequence[str] = ()
) -> UpResult:
    """Validate, deliver the secrets, `devcontainer up`, then check that the worker runs.

    `id_labels` (NAME=VALUE): more labels for the container (the host it is placed on).
    """
    devcontainer, nexus, current, was_running, label_hash, values = prepare_up(
        engine, ws, rebuild=rebuild
    )
    folder = secrets.folder_for(nexus, ws.key)
    secrets.write_file(folder, values)
    hide = secrets.redactor(values.values())
    env = engine.env({secrets.DIR_ENV: str(folder), "COLTEC_CONTAINER_USER": container_user()})
    with guarded(ws, env.get("DOCKER_HOST")) as (guard_args, refused):
        result = proc.run(
            [
                *up_argv(devcontainer, ws, nexus, label_hash, rebuild=rebuild),
                *(arg for label in id_labels for arg in ("--id-label", label)),
                *guard_args,
            ],
            env=env,
            timeout=UP_TIMEOUT,
            check=False,
        )
        raise_refused(ws, refused)
    outcome = parse_outcome(result.stdout)
    if outcome.get("outcome") != "success":
        message = str(outcome.get("message") or f"devcontainer up exited {result.returncode}")
        where = (
            (
                f" (container {str(outcome['containerId'])[:12]} is running; see "
                f"`mise run cs:logs {ws.key}`)"
            )
            if outcome.get("containerId")
            else ""
        )
        causes = "\n".join(cause_lines(result.stderr)) or "\n".join(
            result.stderr.strip().splitlines()[-12:]
        )
        raise LifecycleError(
            hide.text(f"{ws.key}: {message}{where}\n{causes}".rstrip()),
            "the lines above are from devcontainer's log; fix the cause and run cs:up again",
        )
    worker_runs(engine, ws, was_running, hide.text(result.stderr))
    return UpResult(
        ws.key,
        str(outcome.get("containerId", "")),
        str(outcome.get("remoteUser", "")),
        label_hash,
        drifted=label_hash != current,
        rebuilt=rebuild,
    )


def worker_runs(engine: DockerEngine, ws: Workspace, was_running: bool, log: str) -> None:
    """After `devcontainer up`: the container runs and so does its sync worker.

    No lifecycle hook runs for a container that was already running: its worker is told
    to re-read the secrets just delivered (a rotated secret takes effect now).
    """
    container = require_container(engine, ws, running=True)
    if was_running:
        engine.run(["exec", container.id, "coltec-worker", "reload"], timeout=60, check=False)
    check_worker(engine, ws, container, log)


def check_worker(engine: DockerEngine, ws: Workspace, container: Container, log: str) -> None:
    """LifecycleError with the real cause unless the container's sync worker is running."""
    status: dict[str, object] = {}
    for _ in range(WORKER_CHECKS):
        result = engine.run(
            ["exec", container.id, "coltec-worker", "status", "--json"], timeout=60, check=False
        )
        try:
            status = json.loads(result.stdout) if result.returncode == 0 else {}
        except ValueError:
            status = {}
        if status.get("running"):
            return
        time.sleep(WORKER_CHECK_PAUSE)
    tail = engine.run(
        ["exec", container.id, "tail", "-n", "5", WORKER_LOG], timeout=60, check=False
    ).stdout
    causes = cause_lines(log) + [line for line in tail.splitlines() if line.strip()]
    if status.get("problem"):
        causes.insert(0, str(status["problem"]))
    raise LifecycleError(
        f"{ws.key}: the container runs ({container.id[:12]}) but its sync worker does not"
        + ("\n" + "\n".join(causes[-12:]) if causes else ""),
        f"fix the cause above, then `mise run cs:up {ws.key}` again "
        f"(`mise run cs:logs {ws.key}` shows the worker's log)",
    )
