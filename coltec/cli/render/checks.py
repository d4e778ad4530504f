"""Output of cs:validate (and --explain), cs:user and cs:discover."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.markup import escape
from rich.table import Table

from . import emit_json, err, out, problems

# -- validate, explain, user, discover ---------------------------------------------------


def validation(run: Any, file_count: int, *, as_json: bool) -> None:
    if as_json:
        files = [
            {"file": r.file, "valid": r.ok, "problems": [p.to_dict() for p in r.problems]}
            for r in run.reports
        ]
        exemptions = {f: [vars(e) for e in found] for f, found in run.exemptions.items()}
        unreadable = [p.to_dict() for p in run.unreadable]
        data = {"valid": run.ok, "files": files, "unreadable": unreadable}
        emit_json({**data, "policy_exceptions": exemptions})
        return
    for p in run.unreadable:
        err.print(f"[red]{escape(p.file)}[/]: {escape(p.message)}", markup=True)
    for report in run.reports:
        problems(report.problems)
    for file, found in run.exemptions.items():
        for e in found:
            out.print(
                f"[bold]{escape(e.where)}[/]: [yellow]policy exception[/] "
                f"'{escape(e.rule)}' for {escape(file)}: {escape(e.reason)} "
                f"(waives {e.waived} violation(s))",
                markup=True,
            )
    bad = sum(1 for r in run.reports if not r.ok) + len(run.unreadable)
    colour = "green" if run.ok else "red"
    out.print(
        f"[{colour}]{file_count - bad}/{file_count} valid, {run.problem_count} problem(s)[/]",
        markup=True,
    )


def explanation(result: Mapping[str, list[Any]], *, as_json: bool) -> None:
    if as_json:
        emit_json({f: [r.to_dict() for r in rows] for f, rows in result.items()})
        return
    for file, rows in result.items():
        out.print(f"[bold]{escape(file)}[/]", markup=True)
        for r in rows:
            where = r.where.replace(file + ":", "line ") if r.where else ""
            out.print(
                f"  [cyan]{escape(r.field)}[/] = {escape(str(r.value))}  "
                f"[dim]<-[/] [bold]{escape(r.layer)}[/]" + (f" ({escape(where)})" if where else ""),
                markup=True,
            )
            if r.note:
                out.print(f"      [dim]{escape(r.note)}[/]", markup=True)


def user_view(view: Any, *, as_json: bool) -> None:
    if as_json:
        emit_json(view.to_dict())
        return
    out.print(f"[bold]user config:[/] {escape(view.path or '(none)')}", markup=True)
    for r in view.rows:
        out.print(
            f"  {r.field:<17} {escape(str(r.value))}  [dim]{escape(r.source)}[/]", markup=True
        )
    for note in view.notes:
        out.print(f"[yellow]note:[/] {escape(note)}", markup=True)
    problems(view.problems)
    verdict = "[green]valid[/]" if view.ok else f"[red]{len(view.problems)} problem(s)[/]"
    out.print(f"{verdict} (checked against {view.checked_workspaces} workspace(s))", markup=True)


def peers(found: list[Any], tags: Iterable[str], *, as_json: bool) -> None:
    if as_json:
        emit_json([p.to_dict() for p in found])
        return
    if not found:
        out.print("no workspace on the tailnet (tags: " + ", ".join(tags) + ")")
        return
    table = Table(show_edge=False)
    for col in ("hostname", "workspace", "online", "tailnet IPs", "last seen", "OS"):
        table.add_column(col)
    for p in found:
        table.add_row(
            escape(p.hostname) + (" (this machine)" if p.is_self else ""),
            escape(p.workspace or "-"),
            "[green]yes[/]" if p.online else "[red]no[/]",
            escape(" ".join(p.ips)),
            escape(p.last_seen or "-"),
            escape(p.os),
        )
    out.print(table)
