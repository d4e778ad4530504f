"""coltec-codespaces tasks: the command-line edge. `invoke --list` shows them all.

Each task parses its arguments, calls coltec.*, renders the result with rich and
picks the exit code. Logic lives in coltec/ and coltec_worker/.
Exit codes: 0 ok, 1 failed/invalid/conflicts, 2 bad usage or unreadable input.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task
from rich.console import Console
from rich.markup import escape

from coltec.errors import ColtecError

console = Console(stderr=False, highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)
F = TypeVar("F", bound=Callable[..., Any])


def edge(fn: F) -> F:
    """Render a ColtecError once, here, with its hint, and exit with its code."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ColtecError as exc:
            err_console.print(f"[bold red]error:[/] {escape(exc.message)}", markup=True)
            if exc.hint:
                err_console.print(f"  [dim]hint:[/] {escape(exc.hint)}", markup=True)
            raise Exit(code=exc.exit_code) from None

    return wrapper  # type: ignore[return-value]


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


# -- validate --------------------------------------------------------------------


@task(
    iterable=["target"],
    help={
        "target": "workspace (org/name), directory or spec file; repeatable; none = all",
        "json": "print a JSON report instead of text",
        "user_config": "user.yaml to merge (default $COLTEC_USER_CONFIG or ~/.config/coltec)",
        "explain": "TARGET: show each effective value and the layer (workspace/org/default) "
        "that set it",
    },
)
@edge
def validate(
    c: Context,
    target: list[str] | None = None,
    json: bool = False,
    user_config: str = "",
    explain: str = "",
) -> None:
    """Validate workspace specs: schema, semantic rules; all errors at once (exit 0/1/2)."""
    from coltec_worker.validate_cmd import report_json

    from coltec.reporting import validate_files
    from coltec.workspaces import resolve_spec_files

    flags = {"json": json, "explain": False}
    targets = [*(target or []), *rest_args(c, flags), *([explain] if explain else [])]
    json = flags["json"]
    files = resolve_spec_files(targets)
    if explain or flags["explain"]:
        return _explain(files, as_json=json)
    run = validate_files(files, Path(user_config) if user_config else None)
    if json:
        data = __import__("json").loads(report_json(run.reports))
        data["unreadable"] = [p.to_dict() for p in run.unreadable]
        data["valid"] = run.ok
        data["policy_exceptions"] = {
            f: [e.__dict__ for e in found] for f, found in run.exemptions.items()
        }
        _print_json(data)
    else:
        for problem in run.unreadable:
            err_console.print(
                f"[red]{escape(problem.file)}[/]: {escape(problem.message)}", markup=True
            )
        for report in run.reports:
            for p in report.problems:
                console.print(
                    f"[bold]{escape(p.location())}[/]: [cyan]{escape(p.path)}[/]: "
                    f"{escape(p.message)}",
                    markup=True,
                )
                if p.hint:
                    console.print(f"    [dim]hint:[/] {escape(p.hint)}", markup=True)
        _print_exemptions(run.exemptions)
        bad = sum(1 for r in run.reports if not r.ok) + len(run.unreadable)
        colour = "green" if run.ok else "red"
        console.print(
            f"[{colour}]{len(files) - bad}/{len(files)} valid, {run.problem_count} problem(s)[/]",
            markup=True,
        )
    if run.exit_code():
        raise Exit(code=run.exit_code())


def _print_exemptions(exemptions: dict[str, list[Any]]) -> None:
    for file, found in exemptions.items():
        for e in found:
            console.print(
                f"[bold]{escape(e.where)}[/]: [yellow]policy exception[/] "
                f"'{escape(e.rule)}' for {escape(file)}: {escape(e.reason)} "
                f"(waives {e.waived} violation(s))",
                markup=True,
            )


def _explain(files: list[Path], *, as_json: bool) -> None:
    from coltec.explain import explain
    from coltec.policy import PolicyStore

    store = PolicyStore()
    result = {str(f): explain(f, store) for f in files}
    if as_json:
        _print_json({f: [r.to_dict() for r in rows] for f, rows in result.items()})
        return
    for file, rows in result.items():
        console.print(f"[bold]{escape(file)}[/]", markup=True)
        for r in rows:
            where = r.where.replace(file + ":", "line ") if r.where else ""
            console.print(
                f"  [cyan]{escape(r.field)}[/] = {escape(str(r.value))}  "
                f"[dim]<-[/] [bold]{escape(r.layer)}[/]" + (f" ({escape(where)})" if where else ""),
                markup=True,
            )
            if r.note:
                console.print(f"      [dim]{escape(r.note)}[/]", markup=True)


# -- org policy, user config, discovery -------------------------------------------------


@task(help={"json": "print JSON", "user_config": "user.yaml to show (default: as validate)"})
@edge
def user(c: Context, json: bool = False, user_config: str = "") -> None:
    """Show the effective user configuration and check it against every workspace."""
    from coltec.usercfg import describe

    flags = {"json": json}
    rest_args(c, flags)
    view = describe(user_config)
    if flags["json"]:
        _print_json(view.to_dict())
    else:
        console.print(f"[bold]user config:[/] {escape(view.path or '(none)')}", markup=True)
        for r in view.rows:
            console.print(
                f"  {r.field:<17} {escape(str(r.value))}  [dim]{escape(r.source)}[/]", markup=True
            )
        for note in view.notes:
            console.print(f"[yellow]note:[/] {escape(note)}", markup=True)
        for p in view.problems:
            console.print(
                f"[bold]{escape(p.location())}[/]: [cyan]{escape(p.path)}[/]: {escape(p.message)}",
                markup=True,
            )
            if p.hint:
                console.print(f"    [dim]hint:[/] {escape(p.hint)}", markup=True)
        verdict = "[green]valid[/]" if view.ok else f"[red]{len(view.problems)} problem(s)[/]"
        console.print(
            f"{verdict} (checked against {view.checked_workspaces} workspace(s))", markup=True
        )
    if not view.ok:
        raise Exit(code=1)


@task(
    iterable=["tag"],
    help={"json": "print JSON", "tag": "devcontainer tag to look for (default tag:devcontainer)"},
)
@edge
def discover(c: Context, json: bool = False, tag: list[str] | None = None) -> None:
    """List the workspaces on the tailnet: hostname, IPs, online, last seen, OS, workspace."""
    from rich.table import Table

    from coltec.discovery import DEFAULT_TAGS
    from coltec.discovery import discover as find_peers

    flags = {"json": json}
    rest_args(c, flags)
    peers = find_peers(tuple(tag or DEFAULT_TAGS))
    if flags["json"]:
        _print_json([p.to_dict() for p in peers])
        return
    if not peers:
        console.print("no workspace on the tailnet (tags: " + ", ".join(tag or DEFAULT_TAGS) + ")")
        return
    table = Table(show_edge=False)
    for col in ("hostname", "workspace", "online", "tailnet IPs", "last seen", "OS"):
        table.add_column(col)
    for p in peers:
        table.add_row(
            escape(p.hostname) + (" (this machine)" if p.is_self else ""),
            escape(p.workspace or "-"),
            "[green]yes[/]" if p.online else "[red]no[/]",
            escape(" ".join(p.ips)),
            escape(p.last_seen or "-"),
            escape(p.os),
        )
    console.print(table)


# -- helpers for mise: `mise run cs:x A B --flag` becomes `invoke x -- A B --flag` ---------


def rest_args(c: Context, flags: dict[str, bool]) -> list[str]:
    """Positionals from the words after `--`; known `--flag`s set in `flags` (in place)."""
    return rest_options(c, flags, {})


# -- test ------------------------------------------------------------------------


@task(
    help={
        "pytest_args": "extra arguments for pytest, e.g. '-k worker -x'",
        "lint": "run ruff and mypy first (default: yes)",
    }
)
def test(c: Context, pytest_args: str = "", lint: bool = True) -> None:
    """Run ruff, mypy (strict) and the whole pytest suite (unit, integration, e2e)."""
    if lint:
        c.run("ruff check .", echo=True, pty=False)
        c.run("ruff format --check .", echo=True, pty=False)
        c.run("mypy", echo=True, pty=False)
    c.run(f"pytest {pytest_args}", echo=True, pty=False)


# -- template: new, update, outdated, adopt --------------------------------------------


def _remainder(c: Context) -> list[str]:
    """The words after `--`, quoting intact (invoke's remainder is re-joined with spaces)."""
    import shlex

    if "--" in sys.argv:
        tail = sys.argv[sys.argv.index("--") + 1 :]
        if " ".join(tail) == (c.remainder or ""):
            return tail
    return shlex.split(c.remainder or "")


def rest_options(c: Context, flags: dict[str, bool], lists: dict[str, list[str]]) -> list[str]:
    """rest_args plus repeatable `--name VALUE` / `--name=VALUE` options (appended in place)."""
    from coltec.errors import UsageError

    words, positionals = _remainder(c), []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if not word.startswith("--"):
            if word.startswith("-") and word != "-":
                raise UsageError(f"unknown option {word}", "options are spelled out: --name")
            positionals.append(word)
            continue
        name, eq, value = word[2:].partition("=")
        name = name.replace("-", "_")
        if name in flags and not eq:
            flags[name] = True
        elif name in lists:
            if not eq:
                if i >= len(words):
                    raise UsageError(f"--{name.replace('_', '-')} needs a value", "e.g. --data k=v")
                value, i = words[i], i + 1
            lists[name].append(value)
        else:
            known = ", ".join("--" + f.replace("_", "-") for f in [*flags, *lists]) or "none"
            raise UsageError(f"unknown option {word}", f"options here: {known}")
    return positionals


def _one_target(positionals: list[str], given: str, what: str) -> str:
    from coltec.errors import UsageError

    targets = [t for t in [given, *positionals] if t]
    if len(targets) != 1:
        raise UsageError(
            f"expected one {what}, got {len(targets)}", f"e.g. `mise run cs:new {what}`"
        )
    return targets[0]


@task(
    iterable=["data"],
    help={
        "workspace": "ORG/NAME of the new workspace (or give it after `--`)",
        "data": "answer KEY=VALUE, repeatable (e.g. project_type=python, run_args=--network=host)",
        "defaults": "use the default for every unanswered question (no prompts)",
    },
)
@edge
def new(
    c: Context, workspace: str = "", data: list[str] | None = None, defaults: bool = False
) -> None:
    """Create codespaces/ORG/NAME from the template and validate it (exit 0 ok, 1 invalid)."""
    from coltec.create import new_workspace

    flags, lists = {"defaults": defaults}, {"data": list(data or [])}
    key = _one_target(rest_options(c, flags, lists), workspace, "ORG/NAME")
    created = new_workspace(key, lists["data"], defaults=flags["defaults"])
    source = created.source
    where = f"{source.url}@{source.ref}" if source.ref else source.url
    run = created.validation
    for report in run.reports:
        for p in report.problems:
            console.print(f"[bold]{escape(p.location())}[/]: {escape(p.message)}", markup=True)
            if p.hint:
                console.print(f"    [dim]hint:[/] {escape(p.hint)}", markup=True)
    if not run.ok:
        err_console.print(
            f"[red]created {created.workspace.key} at {escape(str(created.workspace.dir))}, but "
            f"its declaration is invalid ({run.problem_count} problem(s))[/]\n  [dim]hint:[/] "
            f"fix the answers and re-create it (delete the folder first), or edit the files",
            markup=True,
        )
        raise Exit(code=1)
    console.print(
        f"[green]created {created.workspace.key}[/] at {escape(str(created.workspace.dir))} "
        f"from {escape(where)}; declaration valid",
        markup=True,
    )
    console.print(f"  next: git add and commit it, then `mise run cs:up {created.workspace.key}`")


_OUTCOME_STYLE = {
    "updated": "green",
    "current": "dim",
    "conflicts": "bold red",
    "skipped": "yellow",
    "failed": "red",
}


def _update_line(r: Any) -> str:
    style = _OUTCOME_STYLE[r.outcome]
    label = f"would be {r.outcome}" if r.dry_run and r.outcome != "skipped" else r.outcome
    versions = f" {r.from_version} -> {r.to_version}" if r.to_version else ""
    files = f": {', '.join(r.files)}" if r.files and r.outcome in ("updated", "conflicts") else ""
    reason = f" — {r.reason}" if r.reason else ""
    return f"[{style}]{label:>9}[/] {escape(r.workspace)}{versions}{escape(files)}{escape(reason)}"


@task(
    help={
        "workspace": "ORG/NAME to update (or give it after `--`)",
        "all_": "update every workspace under codespaces/ (progress bar, summary table)",
        "dry_run": "say what would change and what would conflict; change nothing",
        "json": "print the outcomes as JSON",
    }
)
@edge
def update(
    c: Context, workspace: str = "", all_: bool = False, dry_run: bool = False, json: bool = False
) -> None:
    """copier update one or --all workspaces; exit 1 on conflicts or failures, never hides them."""
    from rich.progress import Progress
    from rich.table import Table

    from coltec.errors import UsageError
    from coltec.update import update_workspace
    from coltec.workspaces import all_workspaces, existing_workspace

    flags = {"all": all_, "dry_run": dry_run, "json": json}
    positionals = rest_options(c, flags, {})
    if flags["all"]:
        if positionals or workspace:
            raise UsageError("give either --all or one ORG/NAME", "e.g. `mise run cs:update --all`")
        targets = all_workspaces()
        if not targets:
            raise UsageError(
                "no workspaces to update", "create one with `mise run cs:new ORG/NAME`"
            )
    else:
        targets = [existing_workspace(_one_target(positionals, workspace, "ORG/NAME"))]
    results = []
    if flags["all"] and not flags["json"]:
        with Progress(console=err_console, transient=True) as progress:
            bar = progress.add_task("updating", total=len(targets))
            for ws in targets:
                progress.update(bar, description=f"updating {ws.key}")
                results.append(update_workspace(ws, dry_run=flags["dry_run"]))
                progress.advance(bar)
    else:
        results = [update_workspace(ws, dry_run=flags["dry_run"]) for ws in targets]
    if flags["json"]:
        _print_json([r.to_dict() for r in results])
    else:
        for r in results:
            console.print(_update_line(r), markup=True)
        if flags["all"]:
            table = Table(title="cs:update" + (" --dry-run" if flags["dry_run"] else ""))
            table.add_column("outcome")
            table.add_column("workspaces", justify="right")
            for outcome, style in _OUTCOME_STYLE.items():
                count = sum(1 for r in results if r.outcome == outcome)
                if count:
                    table.add_row(f"[{style}]{outcome}[/]", str(count))
            console.print(table)
        if any(r.outcome == "conflicts" for r in results) and not flags["dry_run"]:
            err_console.print(
                "[dim]hint:[/] conflicts are marked <<<<<<< before updating / >>>>>>> after "
                "updating; edit them, `git add` the files and commit",
                markup=True,
            )
    if not all(r.ok for r in results):
        raise Exit(code=1)


@task(
    help={
        "json": "print the report as JSON",
        "no_edits": "skip the hand-edit check (no render per workspace; faster)",
    }
)
@edge
def outdated(c: Context, json: bool = False, no_edits: bool = False) -> None:
    """Template version of every workspace vs the newest, and its hand-edited files."""
    from rich.progress import Progress
    from rich.table import Table

    from coltec.outdated import Drift, TemplateMemo, check_drift
    from coltec.workspaces import all_workspaces

    flags = {"json": json, "no_edits": no_edits}
    rest_options(c, flags, {})
    targets = all_workspaces()
    with Progress(console=err_console, transient=True) as progress:
        bar = progress.add_task("checking", total=len(targets))
        drifts: list[Drift] = []
        memo: TemplateMemo = {}
        for ws in targets:
            drifts.append(check_drift(ws, edits=not flags["no_edits"], memo=memo))
            progress.advance(bar)
    if flags["json"]:
        _print_json([d.to_dict() for d in drifts])
        return
    table = Table(title="cs:outdated")
    for column in ("workspace", "version", "newest", "outdated", "hand edits"):
        table.add_column(column, overflow="fold")
    for d in drifts:
        state = "?" if d.outdated is None else ("[yellow]yes[/]" if d.outdated else "no")
        edits = ", ".join(d.edited + [f"{m} (missing)" for m in d.missing]) or "-"
        if d.error:
            state, edits = "[red]error[/]", d.error
        elif flags["no_edits"]:
            edits = "(not checked)"
        table.add_row(
            escape(d.workspace), escape(d.current), escape(d.latest), state, escape(edits)
        )
    console.print(table)


@task(
    iterable=["data"],
    help={
        "path": "workspace folder (or ORG/NAME) with .devcontainer/ (or give it after `--`)",
        "apply": "write the answers file and the render (never over a setting of yours)",
        "data": "answer KEY=VALUE instead of inferring it (e.g. org=acme, project_type=go)",
    },
)
@edge
def adopt(c: Context, path: str = "", apply: bool = False, data: list[str] | None = None) -> None:
    """Bring an existing devcontainer folder under the template: infer answers, show the diff."""
    from coltec.adopt import adopt as adopt_workspace
    from coltec.workspaces import existing_workspace, is_dir

    flags, lists = {"apply": apply}, {"data": list(data or [])}
    target = _one_target(rest_options(c, flags, lists), path, "PATH")
    folder = Path(target) if is_dir(Path(target)) else existing_workspace(target).dir
    result = adopt_workspace(folder, apply=flags["apply"], data=lists["data"])
    _print_adoption(result)


def _print_adoption(result: Any) -> None:
    import yaml

    console.print("[bold]inferred answers[/]", markup=True)
    console.print(escape(yaml.safe_dump(result.answers, sort_keys=False, allow_unicode=True)))
    if result.diff:
        console.print(
            f"[bold]a render would change {len(result.changed_files)} file(s)[/]:", markup=True
        )
        for line in result.diff:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            text = escape(line.rstrip("\n"))
            console.print(f"[{style}]{text}[/]" if style else text, markup=True)
    else:
        console.print("a render with these answers reproduces the files exactly")
    if result.lost:
        console.print(
            f"[yellow]the render would not keep {len(result.lost)} setting(s) of "
            f"devcontainer.json: {escape(', '.join(result.lost))}[/]; your file is kept "
            "as it is (cs:update treats the difference as your edit)",
            markup=True,
        )
    else:
        console.print("every setting of devcontainer.json is kept by the render")
    for note in result.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", markup=True)
    if result.applied:
        console.print(
            f"[green]wrote {escape(', '.join(result.written))}[/]"
            + (f"; kept yours: {escape(', '.join(result.kept))}" if result.kept else "")
            + "\n  next: git add and commit the folder; then `mise run cs:update` and "
            "`mise run cs:outdated` work for it",
            markup=True,
        )
    else:
        console.print("[dim]nothing written; re-run with --apply to write it[/]", markup=True)


# -- lifecycle: up, up-rebuild, down, list, exec, logs ------------------------------------

_DOCKER_HOST_HELP = "Docker engine to use (default: $DOCKER_HOST, else the local socket)"


def _lifecycle_target(
    c: Context,
    workspace: str,
    docker_host: str,
    flags: dict[str, bool] | None = None,
    numbers: dict[str, int] | None = None,
) -> tuple[Any, Any]:
    """(Engine, Workspace) from the task's arguments and the words after `--`.

    `flags` and `numbers` (options taking an integer) are updated in place.
    """
    engine, ws, _, _ = _target(c, workspace, docker_host, flags, numbers)
    return engine, ws


def _target(
    c: Context,
    workspace: str,
    docker_host: str,
    flags: dict[str, bool] | None = None,
    numbers: dict[str, int] | None = None,
    *,
    place: str | None = None,
) -> tuple[Any, Any, Any, str]:
    """(Engine, Workspace, Host or None, placement reason) from the arguments.

    Without a hosts file: the engine --docker-host / DOCKER_HOST names (Host None).
    With one: the host the workspace's container is on; with `place` (cs:up, its
    --host value) the host the placement rule picks when it has no container yet.
    """
    from coltec.errors import UsageError
    from coltec.workspaces import workspace as named_workspace

    numbers = numbers if numbers is not None else {}
    lists: dict[str, list[str]] = {"docker_host": [], **{n: [] for n in numbers}}
    if place is not None:
        lists["host"] = []
    positionals = rest_options(c, flags if flags is not None else {}, lists)
    for name in numbers:
        for value in lists[name]:
            if not value.isdigit():
                raise UsageError(f"--{name} needs a whole number, got '{value}'", "e.g. 300")
            numbers[name] = int(value)
    targets = [t for t in [workspace, *positionals] if t]
    if len(targets) != 1:
        raise UsageError(
            f"expected one workspace ORG/NAME, got {len(targets)}",
            "e.g. `mise run cs:up acme/api-dev`",
        )
    given = (lists["docker_host"] or [docker_host])[-1]
    ws = named_workspace(targets[0])
    requested = (lists.get("host") or [place or ""])[-1]
    return _placed(ws, given, requested, place is not None)


def _placed(ws: Any, docker_host: str, requested: str, for_up: bool) -> tuple[Any, Any, Any, str]:
    from coltec.docker import Engine
    from coltec.errors import UsageError
    from coltec.hosts import load_hosts
    from coltec.placement import place, where_is

    hosts = load_hosts(docker_host=docker_host)
    if hosts.path is None:
        if requested:
            raise UsageError(
                f"--host {requested}: there is no hosts file",
                "list your hosts in hosts.yaml at the nexus root (README § Hosts), "
                "or use --docker-host",
            )
        return Engine.from_option(docker_host), ws, None, ""
    if for_up:
        placement = place(hosts, ws.key, requested)
        if placement.note:
            err_console.print(f"[yellow]{escape(placement.note)}[/]", markup=True)
        return placement.host.engine(), ws, placement, placement.reason
    located = where_is(hosts, ws.key)
    return located.host.engine(), ws, located.host, "its container is there"


def _up(c: Context, workspace: str, docker_host: str, rebuild: bool, host: str = "") -> None:
    from coltec.lifecycle import up as do_up
    from coltec.placement import host_labels
    from coltec.remote import up_remote
    from coltec.workspaces import existing_workspace

    engine, ws, placement, reason = _target(c, workspace, docker_host, place=host)
    placed = placement.host if placement is not None else None
    ws = existing_workspace(ws.key)
    verb = "rebuilding" if rebuild else "starting"
    where = f"{placed.name} ({reason})" if placed is not None else escape(engine.where)
    err_console.print(
        f"[dim]{verb} {ws.key} on {escape(where)} "
        f"(devcontainer up; a first build takes a while)...[/]",
        markup=True,
    )
    if placed is not None and not placed.local:
        result = up_remote(placed, ws, rebuild=rebuild)
    elif placed is not None:
        existing = None if rebuild else placement.container
        result = do_up(engine, ws, rebuild=rebuild, id_labels=host_labels(placed, existing))
    else:
        result = do_up(engine, ws, rebuild=rebuild)
    on = f" on {placed.name}" if placed is not None else ""
    console.print(
        f"[green]{ws.key} is up{on}[/]: container {result.container_id[:12]}, "
        f"user {escape(result.remote_user)}, config {result.config_hash}",
        markup=True,
    )
    if result.drifted:
        console.print(
            f"[yellow]its configuration changed since the container was created; "
            f"it runs the old one[/]\n  [dim]hint:[/] apply the new one with "
            f"`mise run cs:up-rebuild {ws.key}`",
            markup=True,
        )
    console.print(f"  next: `mise run cs:exec {ws.key} -- bash`, `mise run cs:logs {ws.key}`")


_HOST_HELP = "with a hosts file: the host for a workspace that has no container yet"


@task(
    help={
        "workspace": "ORG/NAME (or give it after `--`)",
        "docker_host": _DOCKER_HOST_HELP,
        "host": _HOST_HELP,
    }
)
@edge
def up(c: Context, workspace: str = "", docker_host: str = "", host: str = "") -> None:
    """Validate, then start a workspace's container (devcontainer up); exit 0 up, 1 failed."""
    _up(c, workspace, docker_host, rebuild=False, host=host)


@task(help={"workspace": "ORG/NAME (or give it after `--`)", "docker_host": _DOCKER_HOST_HELP})
@edge
def up_rebuild(c: Context, workspace: str = "", docker_host: str = "") -> None:
    """Like up, but remove the container and rebuild its image without cache first."""
    _up(c, workspace, docker_host, rebuild=True)


@task(
    help={
        "workspace": "ORG/NAME (or give it after `--`)",
        "rm": "also remove the container (its /workspace is on the host and stays)",
        "force": "stop even when the final sync fails (the last edits may not be in S3)",
        "timeout": "seconds to wait for the final sync (default 300)",
        "docker_host": _DOCKER_HOST_HELP,
    }
)
@edge
def down(
    c: Context,
    workspace: str = "",
    rm: bool = False,
    force: bool = False,
    timeout: int = 300,
    docker_host: str = "",
) -> None:
    """Flush the worker (final sync), then stop the container; exit 1 if the flush fails."""
    from coltec.lifecycle import down as do_down

    flags, numbers = {"rm": rm, "force": force}, {"timeout": timeout}
    engine, ws = _lifecycle_target(c, workspace, docker_host, flags, numbers)
    timeout = numbers["timeout"]
    err_console.print(f"[dim]final sync of {ws.key} (at most {timeout}s)...[/]", markup=True)
    result = do_down(engine, ws, remove=flags["rm"], force=flags["force"], timeout=timeout)
    if result.flushed:
        console.print("[green]final sync done[/]", markup=True)
    elif "not running" not in result.flush_message:
        err_console.print(
            f"[yellow]final sync FAILED (stopping anyway: --force)[/]\n"
            f"{escape(result.flush_message)}",
            markup=True,
        )
    action = "stopped and removed" if result.removed else "stopped"
    console.print(
        f"[green]{ws.key} {action}[/] (container {result.container_id[:12]})", markup=True
    )


def _sync_cell(row: Any) -> str:
    if row.container != "running" and not row.paths:
        return ""
    if not row.paths:
        return "worker not running" if row.worker_running is False else "no sync yet"
    cells = []
    for p in row.paths:
        age = "" if p.age_seconds is None else f" {_age(p.age_seconds)} ago"
        colour = (
            "green"
            if p.outcome in ("ok", "recovered")
            else ("dim" if p.outcome in ("never", "running") else "red")
        )
        cells.append(f"{escape(p.name)}: [{colour}]{escape(p.outcome)}[/]{age}")
    return "\n".join(cells)


def _age(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


@task(name="list", help={"json": "print JSON instead of a table", "docker_host": _DOCKER_HOST_HELP})
@edge
def list_(c: Context, json: bool = False, docker_host: str = "") -> None:
    """Every workspace: template version, container state, config drift, last sync per path."""
    from rich.table import Table

    from coltec.docker import Engine
    from coltec.fleet import list_fleet

    flags, lists = {"json": json}, {"docker_host": [docker_host] if docker_host else []}
    if rest_options(c, flags, lists):
        from coltec.errors import UsageError

        raise UsageError("cs:list takes no workspace names", "it lists every workspace")
    from coltec.fleethosts import list_fleet_hosts
    from coltec.hosts import load_hosts

    given = (lists["docker_host"] or [""])[-1]
    hosts = load_hosts(docker_host=given)
    if hosts.path is None:
        fleet = list_fleet(Engine.from_option(given))
        for r in fleet.rows:
            r.host = "local" if r.container not in (None, "none") else ""
    else:
        fleet = list_fleet_hosts(hosts)
    if flags["json"]:
        _print_json(fleet.to_dict())
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    columns = ["WORKSPACE", "PROJECT", "ENV", "TEMPLATE", "CONTAINER", "DRIFT", "LAST SYNC"]
    if hosts.path is not None:
        columns.insert(4, "HOST")
    for column in columns:
        table.add_column(column)
    na = "[dim]n/a[/]"
    for row in fleet.rows:
        version = escape(row.template_version[:12]) or "[dim]?[/]"
        if row.outdated:
            version += " [yellow](outdated)[/]"
        drift = {
            "drifted": "[yellow]drifted[/]",
            "current": "current",
            "unknown": "[dim]unknown[/]",
        }.get(row.drift or "", "")
        cells = [
            escape(row.workspace),
            escape(row.project),
            escape(row.env),
            version,
            escape(row.container or "") if fleet.docker else na,
            drift if fleet.docker else na,
            _sync_cell(row),
        ]
        if hosts.path is not None:
            cells.insert(4, escape(row.host) or "[dim]-[/]")
        table.add_row(*cells)
    if fleet.rows:
        (console if hosts.path is None else _wide()).print(table)
    else:
        console.print("no workspaces yet: create one with `mise run cs:new ORG/NAME`")
    for row in fleet.rows:
        if row.note:
            console.print(f"[yellow]{escape(row.workspace)}[/]: {escape(row.note)}", markup=True)
    if not fleet.docker:
        err_console.print(
            f"[yellow]container columns unavailable:[/] {escape(fleet.docker_error)}", markup=True
        )
    elif fleet.docker_error:
        err_console.print(f"[yellow]unreachable:[/] {escape(fleet.docker_error)}", markup=True)


@task(
    name="exec",
    help={
        "workspace": "ORG/NAME; everything after it is the command",
        "docker_host": _DOCKER_HOST_HELP,
    },
)
@edge
def exec_(c: Context, workspace: str = "", docker_host: str = "") -> None:
    """Run a command in a running workspace (default: a login shell); its exit code."""
    from coltec.errors import UsageError
    from coltec.lifecycle import exec_in
    from coltec.workspaces import existing_workspace

    words = _remainder(c)
    while words[:1] == ["--docker-host"] and len(words) > 1:
        docker_host, words = words[1], words[2:]
    if not workspace:
        if not words:
            raise UsageError(
                "expected a workspace ORG/NAME", "e.g. `mise run cs:exec acme/api-dev -- ls -la`"
            )
        workspace, words = words[0], words[1:]
    if words[:1] == ["--"]:
        words = words[1:]
    ws = existing_workspace(workspace)
    tty = sys.stdin.isatty() and sys.stdout.isatty()
    engine = _placed(ws, docker_host, "", False)[0]
    code = exec_in(engine, ws, words, interactive=True, tty=tty)
    if code:
        raise Exit(code=code)


@task(
    help={
        "workspace": "ORG/NAME (or give it after `--`)",
        "follow": "keep printing new lines",
        "lines": "how many last lines (default 200)",
        "docker_host": _DOCKER_HOST_HELP,
    }
)
@edge
def logs(
    c: Context, workspace: str = "", follow: bool = False, lines: int = 200, docker_host: str = ""
) -> None:
    """The sync worker's log (JSON lines), from the container or the workspace's state dir."""
    from coltec import proc
    from coltec.lifecycle import host_log_tail, logs_argv

    flags, numbers = {"follow": follow}, {"lines": lines}
    engine, ws, placed, _ = _target(c, workspace, docker_host, flags, numbers)
    lines = numbers["lines"]
    argv = None
    try:
        argv = logs_argv(engine, ws, follow=flags["follow"], lines=lines)
    except ColtecError as exc:  # no engine: the log is on the host too
        err_console.print(f"[dim]{escape(exc.message)}; reading the host copy[/]", markup=True)
    if argv is None:
        if flags["follow"]:
            raise Exit(
                f"{ws.key}: the container is not running; nothing to follow "
                f"(drop --follow to see the last lines)",
                code=1,
            )
        if placed is not None and not placed.local:
            raise Exit(
                f"{ws.key}: its container on {placed.name} is not running, and its log is "
                f"in the volume there; start it with `mise run cs:up {ws.key}`",
                code=1,
            )
        sys.stdout.write(host_log_tail(ws, lines) + "\n")
        return
    code = proc.run_attached(argv, env=engine.env())
    if code and code != 130:
        raise Exit(code=code)


# -- hosts: cs:hosts, cs:move -------------------------------------------------------


def _wide() -> Console:
    """The console, or one 200 columns wide when not a terminal (a pipe, a log): tables
    of hosts hold URLs that must not be cut off."""
    if console.is_terminal:
        return console
    return Console(width=200, highlight=False, soft_wrap=True)


def _size(n: int | None) -> str:
    if n is None:
        return ""
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


@task(
    help={
        "json": "print JSON instead of a table",
        "timeout": "seconds to wait for each host (default 8); hosts are asked in parallel",
    }
)
@edge
def hosts(c: Context, json: bool = False, timeout: int = 0) -> None:
    """Every host of the hosts file, asked in parallel; exit 1 if one is unreachable."""
    from rich.table import Table

    from coltec.errors import UsageError
    from coltec.hostquery import QUERY_TIMEOUT, query_all
    from coltec.hosts import load_hosts

    flags, lists = {"json": json}, {"timeout": [str(timeout)] if timeout else []}
    if rest_options(c, flags, lists):
        raise UsageError("cs:hosts takes no arguments", "it lists every host")
    wait = QUERY_TIMEOUT
    for value in lists["timeout"]:
        if not value.isdigit() or int(value) < 1:
            raise UsageError(f"--timeout needs a whole number of seconds, got '{value}'", "e.g. 5")
        wait = float(value)
    hostsfile = load_hosts()
    infos = query_all(hostsfile.hosts, wait)
    if flags["json"]:
        _print_json(
            {
                "hosts_file": str(hostsfile.path) if hostsfile.path else None,
                "hosts": [i.to_dict() for i in infos],
            }
        )
    else:
        table = Table(box=None, pad_edge=False, header_style="bold")
        for column in (
            "HOST",
            "DOCKER_HOST",
            "STATE",
            "ENGINE",
            "CPUS",
            "MEMORY",
            "RUNNING",
            "PLACED",
            "FREE",
            "LABELS",
        ):
            table.add_column(column)
        for i in infos:
            state = "[green]reachable[/]" if i.reachable else "[red]unreachable[/]"
            table.add_row(
                escape(i.host.name) + ("" if i.host.local else " [dim](remote)[/]"),
                escape(i.host.docker_host or "(default)"),
                state,
                escape(i.version),
                "" if i.cpus is None else str(i.cpus),
                _size(i.memory_bytes),
                str(i.running) if i.reachable else "",
                str(i.placed) if i.reachable else "",
                ("unlimited" if i.free is None else str(i.free)) if i.reachable else "",
                escape(", ".join(f"{k}={v}" for k, v in sorted(i.host.labels.items()))),
            )
        _wide().print(table)
        for i in infos:
            if not i.reachable:
                console.print(f"[red]{escape(i.host.name)}[/]: {escape(i.error)}", markup=True)
        if hostsfile.path is None:
            console.print(
                "[dim]no hosts file: the local engine only (README § Hosts)[/]", markup=True
            )
    if any(not i.reachable for i in infos):
        raise Exit(code=1)


@task(
    help={
        "workspace": "ORG/NAME (or give it after `--`)",
        "to": "the host to move it to (a name from the hosts file)",
        "force": "move even when the final sync on the source fails",
        "purge": "also remove the source's volume (remote hosts; default: kept)",
        "timeout": "seconds for each sync (default 300)",
        "json": "print the steps as JSON at the end",
    }
)
@edge
def move(
    c: Context,
    workspace: str = "",
    to: str = "",
    force: bool = False,
    purge: bool = False,
    timeout: int = 300,
    json: bool = False,
) -> None:
    """Move a workspace to another host: final sync, stop, start there, first sync, remove."""
    from coltec.errors import UsageError
    from coltec.hosts import Host, load_hosts
    from coltec.lifecycle import up as local_up
    from coltec.move import Step
    from coltec.move import move as do_move
    from coltec.placement import LABEL_HOST
    from coltec.remote import up_remote
    from coltec.workspaces import existing_workspace

    flags = {"force": force, "purge": purge, "json": json}
    lists: dict[str, list[str]] = {"to": [to] if to else [], "timeout": []}
    positionals = rest_options(c, flags, lists)
    for value in lists["timeout"]:
        if not value.isdigit():
            raise UsageError(f"--timeout needs a whole number, got '{value}'", "e.g. 300")
        timeout = int(value)
    target = (lists["to"] or [""])[-1]
    names = [t for t in [workspace, *positionals] if t]
    if len(names) != 1 or not target:
        raise UsageError(
            "expected one workspace ORG/NAME and --to HOST",
            "e.g. `mise run cs:move acme/api-dev --to build2`",
        )
    ws = existing_workspace(names[0])
    hostsfile = load_hosts()
    if hostsfile.path is None:
        raise UsageError(
            "cs:move needs a hosts file (there is only the local engine)",
            "list your hosts in hosts.yaml at the nexus root (README § Hosts)",
        )

    def start_on(host: Host, ws: Any) -> Any:
        if host.local:
            return local_up(host.engine(), ws, id_labels=[f"{LABEL_HOST}={host.name}"])
        return up_remote(host, ws)

    def report(step: Step) -> None:
        detail = f": {escape(step.detail)}" if step.detail else ""
        err_console.print(
            f"  {escape(step.name)} [dim]({step.seconds:.1f}s)[/]{detail}", markup=True
        )

    err_console.print(f"[dim]moving {ws.key} to {escape(target)}...[/]", markup=True)
    result = do_move(
        hostsfile,
        ws,
        target,
        up=start_on,
        force=flags["force"],
        purge=flags["purge"],
        timeout=timeout,
        report=report,
    )
    if flags["json"]:
        _print_json(result.to_dict())
        return
    console.print(
        f"[green]{ws.key} moved from {result.source} to {result.target}[/] in "
        f"{result.seconds:.1f}s: {result.files} files, {_size(result.bytes)} restored from "
        "the bucket",
        markup=True,
    )


# -- image -----------------------------------------------------------------------


@task(
    help={
        "tag": "image tag (default: base-image/IMAGE, the template's base_image default)",
        "base_image": "image to build on; needs Debian/Ubuntu or python3 with venv "
        "(default mcr.microsoft.com/devcontainers/base:ubuntu)",
        "offline": "make a wheelhouse here first, so the build needs no network "
        "(also skips tailscale and mise)",
        "no_tailscale": "do not install tailscale",
        "no_mise": "do not install mise",
        "docker_host": _DOCKER_HOST_HELP,
    }
)
@edge
def image(
    c: Context,
    tag: str = "",
    base_image: str = "",
    offline: bool = False,
    no_tailscale: bool = False,
    no_mise: bool = False,
    docker_host: str = "",
) -> None:
    """Build the base image from this checkout (worker wheel built here); exit 0 built, 1 failed."""
    from coltec.docker import Engine
    from coltec.errors import UsageError
    from coltec.image import DEFAULT_BASE, ImageOptions, build, default_tag

    flags = {"offline": offline, "no_tailscale": no_tailscale, "no_mise": no_mise}
    lists: dict[str, list[str]] = {
        "tag": [tag] if tag else [],
        "base_image": [base_image] if base_image else [],
        "docker_host": [docker_host] if docker_host else [],
    }
    if rest_options(c, flags, lists):
        raise UsageError("cs:image takes no positional arguments", "e.g. --tag coltec/base:dev")
    options = ImageOptions(
        tag=(lists["tag"] or [default_tag()])[-1],
        base_image=(lists["base_image"] or [DEFAULT_BASE])[-1],
        offline=flags["offline"],
        tailscale=not flags["no_tailscale"],
        mise=not flags["no_mise"],
    )
    engine = Engine.from_option((lists["docker_host"] or [""])[-1])
    result = build(engine, options, lambda line: err_console.print(f"[dim]{escape(line)}[/]"))
    console.print(
        f"[green]built {escape(result.tag)}[/]: {result.size_bytes / 1e6:.0f} MB in "
        f"{result.seconds:.0f}s; {escape(result.worker_version)}; "
        f"{escape(result.rclone_version)}",
        markup=True,
    )


# -- demo ------------------------------------------------------------------------


@task(help={"workspace": "ORG/NAME of the sample workspace (default demo/sample-dev)"})
@edge
def demo(c: Context, workspace: str = "") -> None:
    """Create a sample workspace, validate it, sync it once to the local remote, list it."""
    from coltec.demo import DEMO_KEY, run_demo

    console.rule("[bold]coltec demo")
    run = run_demo(workspace or DEMO_KEY)
    ws = run.workspace
    verb = "created" if run.created else "reused"
    console.print(f"1. workspace {ws.key} {verb} at {escape(str(ws.dir))}")
    for name in ("devcontainer.json", "workspace-spec.yaml"):
        console.print(f"     .devcontainer/{name}")
    verdict = "[green]valid[/]" if run.validation.ok else "[red]invalid[/]"
    console.print(f"2. validate: {verdict}", markup=True)
    for report in run.validation.reports:
        for p in report.problems:
            console.print(f"     {escape(p.format())}")
    outcome = "[green]ok[/]" if run.worker_exit == 0 else f"[red]exit {run.worker_exit}[/]"
    console.print(f"3. coltec-worker --once: {outcome}", markup=True)
    for line in run.worker_log.splitlines():
        if '"event": "remote"' in line or '"level": "error"' in line:
            console.print(f"     {escape(line)}")
    console.print(escape(run.status.rstrip()))
    console.print(f"4. {len(run.remote_files)} file(s) in the local remote {run.remote_root}:")
    for name in run.remote_files[:15]:
        console.print(f"     {escape(name)}")
    if len(run.remote_files) > 15:
        console.print(f"     ... and {len(run.remote_files) - 15} more")
    console.print("5. mise run cs:list")
    list_(c)
    if not run.validation.ok or run.worker_exit != 0:
        raise Exit(code=1)


@task(
    iterable=["only"],
    help={
        "quick": "smoke run: shorter and smaller variants (minutes instead of ~45)",
        "only": "run only this benchmark: validate, worker, fleet or nexus (repeatable)",
    },
)
def bench(c: Context, quick: bool = False, only: list[str] | None = None) -> None:
    """Run every benchmark in sequence (validate, worker, fleet, nexus) into bench/results.md."""
    import subprocess

    argv = [sys.executable, str(Path(__file__).parent / "bench" / "run_all.py")]
    argv += ["--quick"] if quick else []
    for name in only or []:
        argv += ["--only", name]
    code = subprocess.run(argv, check=False).returncode
    if code:
        raise Exit("a benchmark failed (see above)", code=code)
