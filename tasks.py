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
    """Positionals from the text after `--`; known `--flag`s set in `flags` (in place)."""
    import shlex

    from coltec.errors import UsageError

    positionals: list[str] = []
    for token in shlex.split(c.remainder or ""):
        name = token[2:].replace("-", "_") if token.startswith("--") else None
        if name is not None and name in flags:
            flags[name] = True
        elif token.startswith("-"):
            known = ", ".join("--" + f.replace("_", "-") for f in flags) or "none"
            raise UsageError(f"unknown option {token}", f"options here: {known}")
        else:
            positionals.append(token)
    return positionals


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
