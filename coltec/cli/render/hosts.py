"""Output of cs:hosts and cs:move, and the placement notes of cs:up."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from . import SafeConsole, emit_json, err, out

HOST_COLUMNS = ("HOST", "DOCKER_HOST", "STATE", "ENGINE", "CPUS", "MEMORY")
LOAD_COLUMNS = ("RUNNING", "PLACED", "FREE", "LABELS")


def wide() -> Console:
    """The console, or one 200 columns wide when not a terminal (a pipe, a log): tables
    of hosts hold URLs that must not be cut off."""
    if out.is_terminal:
        return out
    return SafeConsole(width=200, highlight=False, soft_wrap=True)


def size(n: int | None) -> str:
    if n is None:
        return ""
    for unit, bytes_ in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= bytes_:
            return f"{n / bytes_:.1f} {unit}"
    return f"{n} B"


def placement_note(text: str) -> None:
    if text:
        err.print(f"[yellow]{escape(text)}[/]", markup=True)


def hosts(infos: list[Any], hosts_file: str | None, *, as_json: bool) -> None:
    if as_json:
        emit_json({"hosts_file": hosts_file, "hosts": [i.to_dict() for i in infos]})
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in (*HOST_COLUMNS, *LOAD_COLUMNS):
        table.add_column(column)
    for i in infos:
        up = i.reachable
        table.add_row(
            escape(i.host.name) + ("" if i.host.local else " [dim](remote)[/]"),
            escape(i.host.docker_host or "(default)"),
            "[green]reachable[/]" if up else "[red]unreachable[/]",
            escape(i.version),
            "" if i.cpus is None else str(i.cpus),
            size(i.memory_bytes),
            str(i.running) if up else "",
            str(i.placed) if up else "",
            ("unlimited" if i.free is None else str(i.free)) if up else "",
            escape(", ".join(f"{k}={v}" for k, v in sorted(i.host.labels.items()))),
        )
    wide().print(table)
    for i in infos:
        if not i.reachable:
            out.print(f"[red]{escape(i.host.name)}[/]: {escape(i.error)}", markup=True)
    if hosts_file is None:
        out.print("[dim]no hosts file: the local engine only (README § Hosts)[/]", markup=True)


def moving(key: str, target: str) -> None:
    err.print(f"[dim]moving {key} to {escape(target)}...[/]", markup=True)


def step(done: Any) -> None:
    detail = f": {escape(done.detail)}" if done.detail else ""
    err.print(f"  {escape(done.name)} [dim]({done.seconds:.1f}s)[/]{detail}", markup=True)


def moved(result: Any, *, as_json: bool) -> None:
    if as_json:
        emit_json(result.to_dict())
        return
    out.print(
        f"[green]{result.workspace} moved from {result.source} to {result.target}[/] in "
        f"{result.seconds:.1f}s: {result.files} files, {size(result.bytes)} restored from "
        "the bucket",
        markup=True,
    )
