"""Output of `cs:up`/`cs:down` on many workspaces: a line per workspace, one summary."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from . import err, out

MARKS = {True: "[green]✓[/]", False: "[red]✗[/]"}


def begin(action: str, count: int, jobs: int) -> None:
    err.print(
        f"[dim]{action} {count} workspaces, {jobs} at a time "
        "(Ctrl-C: finish those started, start no more)...[/]",
        markup=True,
    )


def line(done: Any) -> None:
    """One workspace, as soon as it is done."""
    detail = f" {escape(done.detail)}" if done.detail else ""
    took = f" [dim]({done.seconds:.1f}s)[/]" if done.seconds else ""
    out.print(f"{MARKS[done.ok]} {done.workspace} [bold]{done.state}[/]{detail}{took}", markup=True)


def interrupted(running: int, left: int) -> None:
    err.print(
        f"[yellow]interrupted: finishing the {running} in progress; not starting {left} more[/]",
        markup=True,
    )


def summary(run: Any) -> None:
    table = Table(title=f"cs:{run.action}: {len(run.done)} workspaces", title_justify="left")
    for column in ("workspace", "result", "detail", "seconds"):
        table.add_column(column, justify="right" if column == "seconds" else "left")
    for d in run.done:
        state = f"[green]{d.state}[/]" if d.ok else f"[red]{d.state}[/]"
        table.add_row(d.workspace, state, escape(d.detail), f"{d.seconds:.1f}" if d.seconds else "")
    out.print(table)
    counts: dict[str, int] = {}
    for d in run.done:
        counts[d.state] = counts.get(d.state, 0) + 1
    out.print(", ".join(f"{n} {state}" for state, n in counts.items()))
    if run.failed:
        names = ", ".join(d.workspace for d in run.failed)
        err.print(f"[red]error:[/] {len(run.failed)} failed: {names}", markup=True)
        err.print(
            "    [dim]hint:[/] see each one's line above; `mise run cs:logs ORG/NAME`", markup=True
        )
