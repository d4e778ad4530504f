"""Output of cs:image, cs:up, cs:down, cs:list, cs:logs and the demo."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from . import SafeConsole, emit_json, err, out


def starting(key: str, where: str, *, rebuild: bool) -> None:
    verb = "rebuilding" if rebuild else "starting"
    err.print(
        f"[dim]{verb} {key} on {escape(where)} "
        "(devcontainer up; a first build takes a while)...[/]",
        markup=True,
    )


def started(key: str, result: Any, on: str = "") -> None:
    where = f" on {on}" if on else ""
    out.print(
        f"[green]{key} is up{where}[/]: container {result.container_id[:12]}, "
        f"user {escape(result.remote_user)}, config {result.config_hash}",
        markup=True,
    )
    if result.drifted:
        out.print(
            "[yellow]its configuration changed since the container was created; "
            "it runs the old one[/]\n  [dim]hint:[/] apply the new one with "
            f"`mise run cs:up-rebuild {key}`",
            markup=True,
        )
    out.print(f"  next: `mise run cs:exec {key} -- bash`, `mise run cs:logs {key}`")


def flushing(key: str, timeout: int) -> None:
    err.print(f"[dim]final sync of {key} (at most {timeout}s)...[/]", markup=True)


def stopped(key: str, result: Any) -> None:
    if result.flushed:
        out.print("[green]final sync done[/]", markup=True)
    elif "not running" not in result.flush_message:
        err.print(
            "[yellow]final sync FAILED (stopping anyway: --force)[/]\n"
            f"{escape(result.flush_message)}",
            markup=True,
        )
    action = "stopped and removed" if result.removed else "stopped"
    out.print(f"[green]{key} {action}[/] (container {result.container_id[:12]})", markup=True)


def age(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _sync_cell(row: Any) -> str:
    if row.container != "running" and not row.paths:
        return ""
    if not row.paths:
        return "worker not running" if row.worker_running is False else "no sync yet"
    cells = []
    for p in row.paths:
        when = "" if p.age_seconds is None else f" {age(p.age_seconds)} ago"
        good, quiet = p.outcome in ("ok", "recovered"), p.outcome in ("never", "running")
        colour = "green" if good else ("dim" if quiet else "red")
        cells.append(f"{escape(p.name)}: [{colour}]{escape(p.outcome)}[/]{when}")
    return "\n".join(cells)


DRIFT = {"drifted": "[yellow]drifted[/]", "current": "current", "unknown": "[dim]unknown[/]"}


def fleet(listing: Any, *, across_hosts: bool = False, as_json: bool) -> None:
    if as_json:
        emit_json(listing.to_dict())
        return
    if listing.rows:
        _table(out, _fleet_table(listing, across_hosts, piped=not out.is_terminal))
    else:
        out.print("no workspaces yet: create one with `mise run cs:new ORG/NAME`")
    for text, keys in _notes(listing.rows).items():  # one line for what many share
        err.print(f"[yellow]{escape(', '.join(keys))}[/]: {escape(text)}", markup=True)
    if not listing.docker:
        err.print(
            f"[yellow]container columns unavailable:[/] {escape(listing.docker_error)}",
            markup=True,
        )
    elif listing.docker_error:
        err.print(f"[yellow]unreachable:[/] {escape(listing.docker_error)}", markup=True)


def _fleet_table(listing: Any, across_hosts: bool, *, piped: bool) -> Table:
    table = Table(box=None, pad_edge=False, header_style="bold")
    longest = max(len(row.workspace) for row in listing.rows)
    # The id is what every other task takes: never cut. On a terminal the description
    # wraps, the first to give way; piped, it is one line per workspace.
    table.add_column("WORKSPACE", no_wrap=True, min_width=longest)
    table.add_column("DESCRIPTION", min_width=12, max_width=40, no_wrap=piped, overflow="ellipsis")
    columns = ["PROJECT", "ENV", "TEMPLATE", "CONTAINER", "DRIFT"]
    if across_hosts:
        columns.insert(3, "HOST")
    for column in columns:
        table.add_column(column, no_wrap=True)
    table.add_column("LAST SYNC", min_width=len("LAST SYNC"))  # wraps too
    na = "[dim]n/a[/]"
    for row in listing.rows:
        version = escape(row.template_version[:12]) or "[dim]?[/]"
        if row.outdated:
            version += " [yellow](outdated)[/]"
        cells = [
            escape(row.workspace),
            escape(row.description),
            escape(row.project),
            escape(row.env),
            version,
            escape(row.container or "") if listing.docker else na,
            DRIFT.get(row.drift or "", "") if listing.docker else na,
            _sync_cell(row),
        ]
        if across_hosts:
            cells.insert(5, escape(row.host) or "[dim]-[/]")
        table.add_row(*cells)
    return table


def _table(console: Console, table: Table) -> None:
    """A table never narrower than its columns can wrap to (rich would cut or drop
    columns); not on a terminal, as wide as it is (nothing wrapped) and without the
    padding that ends each line (scripts)."""
    measured = Measurement.get(console, console.options.update_width(10_000), table)
    if console.is_terminal:
        if measured.minimum > console.width:
            console = SafeConsole(width=measured.minimum, force_terminal=True, highlight=False)
        console.print(table)
        return
    console = SafeConsole(width=max(measured.maximum, 80), highlight=False)
    with console.capture() as captured:
        console.print(table)
    sys.stdout.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def _notes(rows: list[Any]) -> dict[str, list[str]]:
    """{note: workspaces}: a note many workspaces share (a host not asked) is one line."""
    notes: dict[str, list[str]] = {}
    for row in rows:
        if row.note:
            notes.setdefault(row.note, []).append(row.workspace)
    return notes


def note(text: str) -> None:
    """A dim progress line on stderr (a build step, a fallback taken)."""
    err.print(f"[dim]{escape(text)}[/]", markup=True)


def built(result: Any) -> None:
    out.print(
        f"[green]built {escape(result.tag)}[/]: {result.size_bytes / 1e6:.0f} MB in "
        f"{result.seconds:.0f}s; {escape(result.worker_version)}; "
        f"{escape(result.rclone_version)}",
        markup=True,
    )


def on_hosts(done: Any) -> None:
    """cs:image: the build's line; with --host/--all-hosts, then one line per host."""
    built(done.built)
    if not done.builder:  # built on one engine, nothing sent
        return
    out.print(f"  {escape(done.builder)}: built there")
    for name, sent in done.sent:
        text = {
            "sent": f"[green]loaded[/] in {sent.seconds:.0f}s",
            "current": "[green]current[/] (the same image id was there; skipped)",
        }.get(sent.outcome, f"[red]FAILED[/]: {escape(sent.detail.splitlines()[0])}")
        out.print(f"  {escape(name)}: {text}", markup=True)


def demo_title() -> None:
    out.rule("[bold]coltec demo")


def demo(run: Any) -> None:
    ws = run.workspace
    out.print(
        f"1. workspace {ws.key} {'created' if run.created else 'reused'} at {escape(str(ws.dir))}"
        + (f"\n     {escape(run.refreshed)}" if run.refreshed else "")
    )
    for name in ("devcontainer.json", "workspace-spec.yaml"):
        out.print(f"     .devcontainer/{name}")
    verdict = "[green]valid[/]" if run.validation.ok else "[red]invalid[/]"
    out.print(f"2. validate: {verdict}", markup=True)
    for report in run.validation.reports:
        for p in report.problems:
            out.print(f"     {escape(p.format())}")
    outcome = "[green]ok[/]" if run.worker_exit == 0 else f"[red]exit {run.worker_exit}[/]"
    out.print(f"3. coltec-worker --once: {outcome}", markup=True)
    for line in run.worker_log.splitlines():
        if '"event": "remote"' in line or '"level": "error"' in line:
            out.print(f"     {escape(line)}")
    out.print(escape(run.status.rstrip()))
    out.print(f"4. {len(run.remote_files)} file(s) in the local remote {run.remote_root}:")
    for name in run.remote_files[:15]:
        out.print(f"     {escape(name)}")
    if len(run.remote_files) > 15:
        out.print(f"     ... and {len(run.remote_files) - 15} more")
    out.print("5. mise run cs:list")
