"""coltec-codespaces tasks, the command-line edge: each calls coltec.*, renders the result
(coltec.cli.render), picks the exit code (0 ok, 1 failed/invalid/conflicts, 2 bad usage or
unreadable input). mise runs `python tasks.py TASK ARGS...`; invoke parses (cli.program)."""

from __future__ import annotations

import subprocess
import sys
from functools import partial
from pathlib import Path
from typing import Any

from invoke.context import Context
from invoke.exceptions import Exit

from coltec.cli import updown
from coltec.cli.program import cs
from coltec.cli.program import run as run_program
from coltec.cli.render import checks, hosts, out, progress, runtime, template, ticker
from coltec.workspaces import all_workspaces, existing_workspace, resolve_spec_files


@cs(variadic="target", iterable=["target"], optional=["explain"])
def validate(
    c: Context, target: Any = None, json_: bool = False, user_config: str = "", explain: Any = ""
) -> None:
    """Validate workspace specs: schema, semantic rules; all errors at once (exit 0/1/2)."""
    from coltec.checks.explain import explain_files
    from coltec.checks.run import validate_files

    explained = [explain] if isinstance(explain, str) and explain else []  # --explain TARGET
    files = resolve_spec_files([*target, *explained])
    if explain:
        return checks.explanation(explain_files(files), as_json=json_)
    tick = ticker("validating", len(files)) if len(files) > 1 else None
    run = validate_files(files, Path(user_config) if user_config else None, on_file=tick)
    checks.validation(run, len(files), as_json=json_)
    if run.exit_code():
        raise Exit(code=run.exit_code())


@cs()
def user(c: Context, json_: bool = False, user_config: str = "") -> None:
    """Show the effective user configuration and check it against every workspace."""
    from coltec.checks.usercfg import describe

    view = describe(user_config)
    checks.user_view(view, as_json=json_)
    if not view.ok:
        raise Exit(code=1)


@cs(iterable=["tag"])
def discover(c: Context, json_: bool = False, tag: Any = None) -> None:
    """List the workspaces on the tailnet: hostname, IPs, online, last seen, OS, workspace."""
    from coltec.runtime import discovery

    tags = tuple(tag or discovery.DEFAULT_TAGS)
    checks.peers(discovery.discover(tags), tags, as_json=json_)


@cs()
def test(c: Context, pytest_args: str = "", lint: bool = True) -> None:
    """Run ruff, mypy (strict) and the whole pytest suite (unit, integration, e2e)."""
    checks_first = ["ruff check .", "ruff format --check .", "mypy"] if lint else []
    for command in [*checks_first, f"pytest {pytest_args}"]:
        c.run(command, echo=True, pty=False)


@cs(positional=["workspace"], iterable=["data"])
def new(c: Context, workspace: str, data: Any = None, defaults: bool = False,
        template_: str = "") -> None:  # fmt: skip
    """Create codespaces/ORG/NAME from the template and validate it (exit 0 ok, 1 invalid)."""
    from coltec.template.create import new_workspace

    created = new_workspace(workspace, data, defaults=defaults, extension=template_)
    template.created(created)
    if not created.validation.ok:
        raise Exit(code=1)


@cs(variadic="workspace", iterable=["workspace"])
def update(
    c: Context,
    workspace: Any = None,
    all_: bool = False,
    dry_run: bool = False,
    json_: bool = False,
) -> None:
    """copier update one or --all workspaces; exit 1 on conflicts or failures, never hides them."""
    from coltec.template.update import Versions, update_targets, update_workspace

    targets = update_targets(workspace, every=all_)
    run = partial(update_workspace, dry_run=dry_run, versions=Versions())  # one for all
    results = progress("updating", targets, run, show=all_ and not (json_ and out.is_terminal))
    template.updates(results, summary=all_, dry_run=dry_run, as_json=json_)
    if not all(r.ok for r in results):
        raise Exit(code=1)


@cs(variadic="workspace", iterable=["workspace"])
def outdated(
    c: Context, workspace: Any = None, json_: bool = False, no_edits: bool = False
) -> None:
    """Template version of every workspace (or the named ones) vs the newest, and hand edits."""
    from coltec.template.outdated import Versions, check_drift

    check = partial(check_drift, edits=not no_edits, versions=Versions())  # one for all
    chosen = [existing_workspace(w) for w in workspace or []] or all_workspaces()
    drifts = progress("checking", chosen, check)
    template.drifts(drifts, edits_checked=not no_edits, as_json=json_)


@cs(positional=["path"], iterable=["data"])
def adopt(c: Context, path: str, apply: bool = False, data: Any = None) -> None:
    """Bring an existing devcontainer folder under the template: infer answers, show the diff."""
    from coltec.template.adopt import adopt_target

    template.adoption(adopt_target(path, apply=apply, data=data))


@cs(variadic="workspace", iterable=["workspace"])
def up(
    c: Context, workspace: Any = None, all_: bool = False, jobs: int = 0, docker_host: str = "",
    host: str = "",
) -> None:  # fmt: skip
    """Validate, then start a workspace (devcontainer up), or ORG/ or --all at once; exit 0/1."""
    updown.up(workspace, all_, jobs, docker_host, host)


@cs(positional=["workspace"])
def up_rebuild(c: Context, workspace: str, docker_host: str = "") -> None:
    """Like up, but remove the container and rebuild its image without cache first."""
    updown.up_one(workspace, docker_host, "", rebuild=True)


@cs(variadic="workspace", iterable=["workspace"])
def down(
    c: Context, workspace: Any = None, all_: bool = False, jobs: int = 0, rm: bool = False,
    force: bool = False, timeout: int = 300, docker_host: str = "",
) -> None:  # fmt: skip
    """Flush the worker(s) (final sync), then stop; ORG/ or --all at once; exit 1 if one fails."""
    updown.down(workspace, all_, jobs, docker_host, rm=rm, force=force, timeout=timeout)


@cs(name="list", variadic="workspace", iterable=["workspace"])
def list_(c: Context, workspace: Any = None, json_: bool = False, docker_host: str = "") -> None:
    """Every workspace (or those of ORG, ORG/NAME): template version, container, drift, sync."""
    from coltec.hosts.fleet import list_everywhere
    from coltec.runtime.many import matching

    keep = matching(workspace or [])  # an unknown ORG or ORG/NAME: exit 2 before any work
    listing, across_hosts = list_everywhere(docker_host)
    listing.rows = [row for row in listing.rows if keep(row.workspace)]
    runtime.fleet(listing, across_hosts=across_hosts, as_json=json_)


@cs(name="exec", rest="command", positional=["workspace"], iterable=["command"])
def exec_(c: Context, workspace: str, command: Any = None, docker_host: str = "") -> None:
    """Run a command in a running workspace (default: a login shell); its exit code."""
    from coltec.hosts.target import where_running
    from coltec.runtime.docker import ping
    from coltec.runtime.running import exec_in

    ws, tty = existing_workspace(workspace), sys.stdin.isatty() and sys.stdout.isatty()
    ping(engine := where_running(ws, docker_host).engine)
    code = exec_in(engine, ws, command, tty=tty)
    if code:
        raise Exit(code=code)


@cs(positional=["workspace"])
def logs(
    c: Context, workspace: str, follow: bool = False, lines: int = 200, docker_host: str = ""
) -> None:
    """The sync worker's log (JSON lines), from the container or the workspace's state dir."""
    from coltec.hosts.target import where_running
    from coltec.runtime.running import tail_logs

    target = where_running(ws := existing_workspace(workspace), docker_host)
    code = tail_logs(target.engine, ws, follow, lines, remote=target.remote, notice=runtime.note)
    if code:
        raise Exit(code=code)


@cs(name="hosts")
def hosts_(c: Context, json_: bool = False, timeout: int = 0) -> None:
    """Every host of the hosts file, asked in parallel; exit 1 if one is unreachable."""
    from coltec.hosts.query import ask_every_host

    infos, hosts_file = ask_every_host(timeout)
    hosts.hosts(infos, hosts_file, as_json=json_)
    if any(not i.reachable for i in infos):
        raise Exit(code=1)


@cs(positional=["workspace"])
def move(c: Context, workspace: str, to: str = "", force: bool = False, purge: bool = False,
         timeout: int = 300, json_: bool = False) -> None:  # fmt: skip
    """Move a workspace to another host: final sync, stop, start there, first sync, remove."""
    from coltec.hosts.move import move_workspace

    ws = existing_workspace(workspace)
    result = move_workspace(
        ws, to, force=force, purge=purge, timeout=timeout, report=hosts.step, begin=hosts.moving
    )
    hosts.moved(result, as_json=json_)


@cs(iterable=["host"])
def image(
    c: Context, tag: str = "", base_image: str = "", offline: bool = False, no_mise: bool = False,
    no_tailscale: bool = False, docker_host: str = "", sku: str = "", host: Any = None,
    all_hosts: bool = False,
) -> None:  # fmt: skip
    """Build the base image here or onto hosts (--host, --all-hosts); exit 0 ok, 1 failed."""
    from coltec.hosts.images import build_image
    from coltec.runtime.image_sku import image_options

    options = image_options(tag, base_image, offline, no_tailscale, no_mise, sku)
    runtime.on_hosts(done := build_image(options, host or [], all_hosts, docker_host, runtime.note))
    done.check()


@cs()
def demo(c: Context, workspace: str = "") -> None:
    """Create a sample workspace, validate it, sync it once to the local remote, list it."""
    from coltec.runtime.demo import DEMO_KEY, run_demo

    runtime.demo_title()
    runtime.demo(run := run_demo(workspace or DEMO_KEY))
    list_(c)
    if not run.validation.ok or run.worker_exit != 0:
        raise Exit(code=1)


@cs(iterable=["only"])
def bench(c: Context, quick: bool = False, only: Any = None) -> None:
    """Run every benchmark in sequence (validate, worker, fleet, nexus) into bench/results.md."""
    argv = [sys.executable, str(Path(__file__).parent / "bench" / "run_all.py")]
    argv += [*(["--quick"] if quick else []), *(a for n in only or [] for a in ("--only", n))]
    code = subprocess.run(argv, check=False).returncode
    if code:
        raise Exit("a benchmark failed (see above)", code=code)


if __name__ == "__main__":  # mise: `python tasks.py TASK ARGS...`
    run_program(sys.modules[__name__])
