"""Output of cs:new, cs:update, cs:outdated and cs:adopt."""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.table import Table

from . import emit_json, err, out, problems

# -- template: new, update, outdated, adopt ---------------------------------------------

OUTCOME_STYLE = {
    "updated": "green",
    "current": "dim",
    "conflicts": "bold red",
    "skipped": "yellow",
    "failed": "red",
}


def created(result: Any) -> None:
    ws, run, source = result.workspace, result.validation, result.source
    for report in run.reports:
        problems(report.problems, with_path=False)
    if not run.ok:
        err.print(
            f"[red]created {ws.key} at {escape(str(ws.dir))}, but its declaration is invalid "
            f"({run.problem_count} problem(s))[/]\n  [dim]hint:[/] fix the answers and "
            "re-create it (delete the folder first), or edit the files",
            markup=True,
        )
        return
    where = f"{source.url}@{source.ref}" if source.ref else source.url
    out.print(
        f"[green]created {ws.key}[/] at {escape(str(ws.dir))} from {escape(where)}; "
        "declaration valid",
        markup=True,
    )
    out.print(f"  next: git add and commit it, then `mise run cs:up {ws.key}`")


def update_line(r: Any) -> str:
    style = OUTCOME_STYLE[r.outcome]
    label = f"would be {r.outcome}" if r.dry_run and r.outcome != "skipped" else r.outcome
    versions = f" {r.from_version} -> {r.to_version}" if r.to_version else ""
    files = f": {', '.join(r.files)}" if r.files and r.outcome in ("updated", "conflicts") else ""
    reason = f" — {r.reason}" if r.reason else ""
    return f"[{style}]{label:>9}[/] {escape(r.workspace)}{versions}{escape(files)}{escape(reason)}"


def updates(results: list[Any], *, summary: bool, dry_run: bool, as_json: bool) -> None:
    if as_json:
        emit_json([r.to_dict() for r in results])
        return
    for r in results:
        out.print(update_line(r), markup=True)
    if summary:
        table = Table(title="cs:update" + (" --dry-run" if dry_run else ""))
        table.add_column("outcome")
        table.add_column("workspaces", justify="right")
        for outcome, style in OUTCOME_STYLE.items():
            count = sum(1 for r in results if r.outcome == outcome)
            if count:
                table.add_row(f"[{style}]{outcome}[/]", str(count))
        out.print(table)
    if any(r.outcome == "conflicts" for r in results) and not dry_run:
        err.print(
            "[dim]hint:[/] conflicts are marked <<<<<<< before updating / >>>>>>> after "
            "updating; edit them, `git add` the files and commit",
            markup=True,
        )


def drifts(found: list[Any], *, edits_checked: bool, as_json: bool) -> None:
    if as_json:
        emit_json([d.to_dict() for d in found])
        return
    table = Table(title="cs:outdated")
    for column in ("workspace", "version", "newest", "outdated", "hand edits"):
        table.add_column(column, overflow="fold")
    for d in found:
        state = "?" if d.outdated is None else ("[yellow]yes[/]" if d.outdated else "no")
        edits = ", ".join(d.edited + [f"{m} (missing)" for m in d.missing]) or "-"
        if d.error:
            state, edits = "[red]error[/]", d.error
        elif not edits_checked:
            edits = "(not checked)"
        table.add_row(
            escape(d.workspace), escape(d.current), escape(d.latest), state, escape(edits)
        )
    out.print(table)


def adoption(result: Any) -> None:
    import yaml

    out.print("[bold]inferred answers[/]", markup=True)
    out.print(escape(yaml.safe_dump(result.answers, sort_keys=False, allow_unicode=True)))
    if result.diff:
        out.print(
            f"[bold]a render would change {len(result.changed_files)} file(s)[/]:", markup=True
        )
        for line in result.diff:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            text = escape(line.rstrip("\n"))
            out.print(f"[{style}]{text}[/]" if style else text, markup=True)
    else:
        out.print("a render with these answers reproduces the files exactly")
    if result.lost:
        out.print(
            f"[yellow]the render would not keep {len(result.lost)} setting(s) of "
            f"devcontainer.json: {escape(', '.join(result.lost))}[/]; your file is kept "
            "as it is (cs:update treats the difference as your edit)",
            markup=True,
        )
    else:
        out.print("every setting of devcontainer.json is kept by the render")
    for note in result.notes:
        out.print(f"[yellow]note:[/] {escape(note)}", markup=True)
    if not result.applied:
        out.print("[dim]nothing written; re-run with --apply to write it[/]", markup=True)
        return
    out.print(
        f"[green]wrote {escape(', '.join(result.written))}[/]"
        + (f"; kept yours: {escape(', '.join(result.kept))}" if result.kept else ""),
        markup=True,
    )
    for step in result.next_steps:
        out.print(f"  next: {escape(step)}")
