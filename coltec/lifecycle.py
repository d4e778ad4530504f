"""Workspace lifecycle: up (devcontainer up), down (flush, then stop), exec, logs.

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

from . import jsonc, proc, secrets
from .docker import (
    LABEL_CONFIG_HASH,
    LABEL_NEXUS,
    LABEL_WORKSPACE,
    Container,
    Engine,
    by_workspace,
)
from .docker import containers as list_containers
from .drift import config_hash
from .errors import ColtecError
from .image import default_tag, image_exists
from .policy import write_org_install
from .reporting import validate_files
from .workspaces import Workspace, is_file, nexus_id

UP_TIMEOUT = 3600.0  # a first build can pull and install a lot
FLUSH_TIMEOUT = 300
STOP_TIMEOUT = 20
WORKER_CHECKS, WORKER_CHECK_PAUSE = 5, 1.0  # post-start.sh waits 1 s itself
CONTAINER_WORKSPACE = "/workspace"
WORKER_LOG = f"{CONTAINER_WORKSPACE}/.coltec/state/worker.log"
HOST_WORKER_LOG = Path(".coltec") / "state" / "worker.log"


class LifecycleError(ColtecError):
    """devcontainer up failed, no container exists, or the final flush failed."""


@dataclass(frozen=True)
class UpResult:
    workspace: str
    container_id: str
    remote_user: str
    config_hash: str
    drifted: bool  # an existing container kept its older configuration
    rebuilt: bool


@dataclass(frozen=True)
class DownResult:
    workspace: str
    container_id: str
    flushed: bool  # the worker's final sync succeeded
    flush_message: str
    stopped: bool
    removed: bool


def container_for(engine: Engine, ws: Workspace) -> Container | None:
    return by_workspace(list_containers(engine, nexus_id(), ws.key)).get(ws.key)


def require_container(engine: Engine, ws: Workspace, *, running: bool = False) -> Container:
    found = container_for(engine, ws)
    if found is None:
        raise LifecycleError(
            f"{ws.key} has no container on {engine.where}",
            f"start it with `mise run cs:up {ws.key}`",
        )
    if running and not found.running:
        raise LifecycleError(
            f"{ws.key}'s container is {found.state}, not running",
            f"start it with `mise run cs:up {ws.key}`",
        )
    return found


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


def up_argv(
    devcontainer: str, ws: Workspace, nexus: str, label_hash: str, *, rebuild: bool
) -> list[str]:
    argv = [
        devcontainer,
        "up",
        "--workspace-folder",
        str(ws.dir),
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


def require_image(engine: Engine, ws: Workspace) -> None:
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


def up(
    engine: Engine, ws: Workspace, *, rebuild: bool = False, id_labels: Sequence[str] = ()
) -> UpResult:
    """Validate, deliver the secrets, `devcontainer up`, then check that the worker runs.

    `id_labels` (NAME=VALUE): more labels for the container (the host it is placed on).
    """
    from .docker import ping

    validate_workspace(ws)
    write_org_install(ws)  # org tools/env for post-create, from policy/ as it is now
    ping(engine)
    devcontainer = proc.require("devcontainer", "run ./dev setup (installs @devcontainers/cli)")
    require_image(engine, ws)
    nexus = nexus_id()
    current = config_hash(ws)
    existing = container_for(engine, ws)
    if rebuild and existing is not None:
        # Its /workspace is a bind mount and the worker's state lives there, so nothing
        # is lost by removing it; the flush is a courtesy to the remote's freshness.
        down(engine, ws, remove=True, force=True)
        existing = None
    was_running = existing is not None and existing.running
    label_hash = existing.config_hash if existing and existing.config_hash else current
    values = secrets.for_workspace(ws.spec_file, secrets.source_env(cwd=str(ws.dir)))
    folder = secrets.folder_for(nexus, ws.key)
    secrets.write_file(folder, values)
    hide = secrets.redactor(values.values())
    env = engine.env({secrets.DIR_ENV: str(folder), "COLTEC_CONTAINER_USER": container_user()})
    result = proc.run(
        [
            *up_argv(devcontainer, ws, nexus, label_hash, rebuild=rebuild),
            *(arg for label in id_labels for arg in ("--id-label", label)),
        ],
        env=env,
        timeout=UP_TIMEOUT,
        check=False,
    )
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
    container = require_container(engine, ws, running=True)
    if was_running:
        # No lifecycle hook runs for a running container: have its worker re-read the
        # secrets file just written (a rotated secret takes effect now).
        engine.run(["exec", container.id, "coltec-worker", "reload"], timeout=60, check=False)
    check_worker(engine, ws, container, hide.text(result.stderr))
    return UpResult(
        ws.key,
        str(outcome.get("containerId", "")),
        str(outcome.get("remoteUser", "")),
        label_hash,
        drifted=label_hash != current,
        rebuilt=rebuild,
    )


def check_worker(engine: Engine, ws: Workspace, container: Container, log: str) -> None:
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


def flush(engine: Engine, container: Container, timeout: int = FLUSH_TIMEOUT) -> tuple[bool, str]:
    """Ask the worker for a final sync of every path and wait (bounded) for it.

    No `--stop`: that ends the daemon even when the flush failed, and a container kept
    running after a failed flush must keep syncing. `docker stop` ends it afterwards;
    the worker's correctness never depends on a graceful exit.
    """
    result = engine.run(
        ["exec", container.id, "coltec-worker", "flush", "--timeout", str(timeout)],
        timeout=timeout + 30,
        check=False,
    )
    text = "\n".join((result.stdout + result.stderr).strip().splitlines()[-10:])
    return result.returncode == 0, text


def down(
    engine: Engine,
    ws: Workspace,
    *,
    remove: bool = False,
    force: bool = False,
    timeout: int = FLUSH_TIMEOUT,
) -> DownResult:
    """Flush the worker, then stop (and with `remove`, remove) the container.

    A failed flush keeps the container running, unless `force`.
    """
    from .docker import ping

    ping(engine)
    container = require_container(engine, ws)
    flushed, message = False, "container not running: nothing to flush"
    if container.running:
        try:
            flushed, message = flush(engine, container, timeout)
        except ColtecError as exc:
            flushed, message = False, exc.message
        if not flushed and not force:
            raise LifecycleError(
                f"{ws.key}: the final sync failed; the container keeps running so nothing "
                f"is lost\n{message}".rstrip(),
                f"see `mise run cs:logs {ws.key}`; fix the remote, or stop anyway with "
                f"`mise run cs:down {ws.key} --force`",
            )
        engine.run(["stop", "--time", str(STOP_TIMEOUT), container.id], timeout=STOP_TIMEOUT + 60)
    if remove:
        engine.run(["rm", "--force", "--volumes", container.id], timeout=120)
    return DownResult(ws.key, container.id, flushed, message, stopped=True, removed=remove)


def exec_argv(
    docker: str, container: Container, command: Sequence[str], *, interactive: bool, tty: bool
) -> list[str]:
    argv = [docker, "exec", "--workdir", CONTAINER_WORKSPACE]
    if interactive:
        argv.append("--interactive")
    if tty:
        argv.append("--tty")
    return [*argv, container.id, *(command or ["bash", "-l"])]


def exec_in(
    engine: Engine, ws: Workspace, command: Sequence[str], *, interactive: bool, tty: bool
) -> int:
    """Run a command in the running container, attached to this terminal; its exit code."""
    container = require_container(engine, ws, running=True)
    argv = exec_argv(engine.docker(), container, command, interactive=interactive, tty=tty)
    return proc.run_attached(argv, env=engine.env())


def logs_argv(engine: Engine, ws: Workspace, *, follow: bool, lines: int) -> list[str] | None:
    """`docker exec ... tail` of the worker's log when the container runs, else None."""
    container = container_for(engine, ws)
    if container is None or not container.running:
        return None
    argv = [engine.docker(), "exec", container.id, "tail", "-n", str(lines)]
    return [*argv, *(["-F"] if follow else []), WORKER_LOG]


def host_log_tail(ws: Workspace, lines: int) -> str:
    """The last lines of the worker's log from the bind-mounted state directory."""
    local = ws.dir / HOST_WORKER_LOG
    if not is_file(local):  # also a name too long to exist
        raise LifecycleError(
            f"{ws.key}: no worker log yet ({local} does not exist)",
            f"start the workspace with `mise run cs:up {ws.key}`",
        )
    return "\n".join(local.read_text(errors="replace").splitlines()[-lines:])
