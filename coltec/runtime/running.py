"""What is done with a workspace's container once it exists: exec, logs, and `down`
(the worker's final flush, then docker stop)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from coltec import proc
from coltec.errors import ColtecError, LifecycleError
from coltec.runtime import docker as engines
from coltec.runtime.docker import Container, DockerEngine
from coltec.workspaces import Workspace, is_file

FLUSH_TIMEOUT = 300
STOP_TIMEOUT = 20


@dataclass(frozen=True)
class DownResult:
    workspace: str
    container_id: str
    flushed: bool  # the worker's final sync succeeded
    flush_message: str
    stopped: bool
    removed: bool


def flush(
    engine: DockerEngine, container: Container, timeout: int = FLUSH_TIMEOUT
) -> tuple[bool, str]:
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
    engine: DockerEngine,
    ws: Workspace,
    *,
    remove: bool = False,
    force: bool = False,
    timeout: int = FLUSH_TIMEOUT,
) -> DownResult:
    """Flush the worker, then stop (and with `remove`, remove) the container.

    A failed flush keeps the container running, unless `force`.
    """

    engines.ping(engine)
    container = engines.require_container(engine, ws)
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
    stop(engine, container, remove=remove)
    return DownResult(ws.key, container.id, flushed, message, stopped=True, removed=remove)


def stop(engine: DockerEngine, container: Container, *, remove: bool = False) -> None:
    """docker stop (a running container) and, with `remove`, docker rm: after the flush."""
    if container.running:
        engine.run(["stop", "--time", str(STOP_TIMEOUT), container.id], timeout=STOP_TIMEOUT + 60)
    if remove:
        engine.run(["rm", "--force", "--volumes", container.id], timeout=120)


def exec_argv(
    docker: str, container: Container, command: Sequence[str], *, interactive: bool, tty: bool
) -> list[str]:
    argv = [docker, "exec", "--workdir", engines.CONTAINER_WORKSPACE]
    if interactive:
        argv.append("--interactive")
    if tty:
        argv.append("--tty")
    return [*argv, container.id, *(command or ["bash", "-l"])]


def exec_in(
    engine: DockerEngine,
    ws: Workspace,
    command: Sequence[str],
    *,
    interactive: bool = True,
    tty: bool,
) -> int:
    """Run a command in the running container, attached to this terminal; its exit code."""
    container = engines.require_container(engine, ws, running=True)
    argv = exec_argv(engine.docker(), container, command, interactive=interactive, tty=tty)
    return proc.run_attached(argv, env=engine.env())


def logs_argv(engine: DockerEngine, ws: Workspace, *, follow: bool, lines: int) -> list[str] | None:
    """`docker exec ... tail` of the worker's log when the container runs, else None."""
    container = engines.container_for(engine, ws)
    if container is None or not container.running:
        return None
    argv = [engine.docker(), "exec", container.id, "tail", "-n", str(lines)]
    return [*argv, *(["-F"] if follow else []), engines.WORKER_LOG]


def host_log_tail(ws: Workspace, lines: int) -> str:
    """The last lines of the worker's log from the bind-mounted state directory."""
    local = ws.state_dir / "worker.log"
    if not is_file(local):  # also a name too long to exist
        raise LifecycleError(
            f"{ws.key}: no worker log yet ({local} does not exist)",
            f"start the workspace with `mise run cs:up {ws.key}`",
        )
    return "\n".join(local.read_text(errors="replace").splitlines()[-lines:])


def tail_logs(
    engine: DockerEngine,
    ws: Workspace,
    follow: bool,
    lines: int,
    *,
    remote: str = "",
    notice: Callable[[str], None],
) -> int:
    """Print the worker's log: from the running container, else the host's copy.

    Returns the exit code (an interrupted `--follow` is a normal end). `notice` is told
    when the engine cannot be asked and the host's copy is read instead. `remote` names
    the remote host the workspace lives on: its log is in the volume there.
    """
    argv = None
    try:
        engines.ping(engine)
        argv = logs_argv(engine, ws, follow=follow, lines=lines)
    except ColtecError as exc:  # no engine: the log is on the host too
        notice(f"{exc.message}; reading the host copy")
    if argv is None:
        if follow:
            raise LifecycleError(
                f"{ws.key}: the container is not running; nothing to follow",
                "drop --follow to see the last lines",
            )
        if remote:
            raise LifecycleError(
                f"{ws.key}: its container on {remote} is not running, and its log is "
                "in the volume there",
                f"start it with `mise run cs:up {ws.key}`",
            )
        sys.stdout.write(host_log_tail(ws, lines) + "\n")
        return 0
    code = proc.run_attached(argv, env=engine.env())
    return 0 if code == 130 else code
