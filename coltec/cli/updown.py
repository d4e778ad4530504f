"""The bodies of the `up`, `up-rebuild` and `down` tasks: one workspace, or many at once.

Many (`--all`, `ORG/`, several ORG/NAMEs) run through coltec.runtime.many with the same
steps as one: cs:up claims, places (across the hosts of a hosts file) and starts each;
cs:down finds every container in one `docker ps` per host, flushes every worker, then
stops. A failed run ends with exit 1 (invoke's Exit) after the summary names each
workspace that failed.
"""

from __future__ import annotations

from collections.abc import Sequence

from invoke.exceptions import Exit

from coltec.cli.render import hosts, many, runtime, ticker
from coltec.workspaces import Workspace, existing_workspace


def _engine_answers(docker_host: str) -> None:
    """Without a hosts file every workspace goes to one engine: ask it before starting."""
    from coltec.hosts.hostsfile import load_hosts
    from coltec.runtime.docker import DockerEngine, ping

    if load_hosts(docker_host=docker_host).path is None:
        ping(DockerEngine.from_option(docker_host))


def up_one(workspace: str, docker_host: str, host: str, *, rebuild: bool) -> None:
    from coltec.hosts.target import placed, start
    from coltec.runtime.docker import ping
    from coltec.runtime.lifecycle import validate_workspace

    ws = existing_workspace(workspace)
    validate_workspace(ws)  # what the user can fix here comes first
    with placed(ws, docker_host, host) as target:
        ping(target.engine)  # before a line says it starts
        hosts.placement_note(target.note)
        runtime.starting(ws.key, target.where, rebuild=rebuild)
        runtime.started(ws.key, start(target, ws, rebuild=rebuild), on=target.name)


def up(words: Sequence[str], every: bool, jobs: int, docker_host: str, host: str) -> None:
    from coltec.hosts.target import up_placed
    from coltec.runtime.many import default_jobs, targets, up_all

    chosen = targets(words, every=every, task="cs:up")
    if chosen is None:
        return up_one(words[0], docker_host, host, rebuild=False)
    if host:
        from coltec.errors import UsageError

        raise UsageError("--host places one workspace", "give one ORG/NAME with --host")

    tick = ticker("starting", len(chosen))  # not on a terminal: a line as each starts

    def start(ws: Workspace) -> str:
        tick(ws.key)
        result, target = up_placed(ws, docker_host)
        where = f"on {target.where}" if target.host else ""
        return where + (" (its configuration drifted: cs:up-rebuild)" if result.drifted else "")

    _engine_answers(docker_host)
    jobs = jobs or default_jobs()
    many.begin("starting", len(chosen), jobs)
    run = up_all(chosen, start, jobs=jobs, report=many.line, on_interrupt=many.interrupted)
    many.summary(run)
    if not run.ok:
        raise Exit(code=1)


def down(
    words: Sequence[str], every: bool, jobs: int, docker_host: str, *, rm: bool, force: bool,
    timeout: int,
) -> None:  # fmt: skip
    from coltec.hosts.fleet import containers_everywhere
    from coltec.runtime.many import default_jobs, down_all, targets

    chosen = targets(words, every=every, task="cs:down")
    if chosen is None:
        return down_one(words[0], docker_host, rm=rm, force=force, timeout=timeout)
    _engine_answers(docker_host)
    found, unreachable = containers_everywhere(docker_host)
    jobs = jobs or default_jobs()
    many.begin("flushing, then stopping,", len(chosen), jobs)
    run = down_all(
        chosen, found, jobs=jobs, report=many.line, force=force, remove=rm, timeout=timeout,
        unreachable=unreachable, on_interrupt=many.interrupted,
    )  # fmt: skip
    many.summary(run)
    if not run.ok:
        raise Exit(code=1)


def down_one(workspace: str, docker_host: str, *, rm: bool, force: bool, timeout: int) -> None:
    from coltec.hosts.target import where_running
    from coltec.runtime.docker import ping
    from coltec.runtime.running import down as stop

    ping(on := where_running(ws := existing_workspace(workspace), docker_host).engine)
    runtime.flushing(ws.key, timeout)
    runtime.stopped(ws.key, stop(on, ws, remove=rm, force=force, timeout=timeout))
