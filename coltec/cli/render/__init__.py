"""Every command's output, text (rich) and JSON, in one place; tasks.py only calls these.

One module per area (checks, template, runtime); this one holds what they share.

JSON is built as data (the results' `to_dict()`) and dumped once, by `emit_json`.
Errors are printed once, by `error`, as `error: MESSAGE` and `  hint: FIX` on stderr.
"""

from __future__ import annotations

import json
import sys
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.text import Text

# What an engine says (a container's name, an image label, docker's or devcontainer's
# error text) can hold terminal escapes that would recolour, retitle or clear the
# user's terminal, or bidi overrides that reorder a line: shown as \x1b, \u202e.
_KEEP = {"\n", "\t"}


def visible(text: str) -> str:
    """`text` with control and invisible format characters escaped (newlines kept)."""
    return "".join(
        c
        if c in _KEEP or unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp")
        else c.encode("unicode_escape").decode("ascii")
        for c in text
    )


class SafeConsole(Console):
    """A Console whose every string (printed, or a table's cell) is made `visible`
    before markup is parsed: rich's own styling comes after and is untouched."""

    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(visible(text), **kwargs)


out = SafeConsole(stderr=False, highlight=False, soft_wrap=True)
err = SafeConsole(stderr=True, highlight=False, soft_wrap=True)
T = TypeVar("T")
R = TypeVar("R")


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def error(message: str, hint: str = "") -> None:
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)
    if hint:
        err.print(f"  [dim]hint:[/] {escape(hint)}", markup=True)


def mise_name(task: str) -> str:
    """The mise task that runs invoke task `task` (mise.toml: test, demo, bench, cs:*)."""
    return task if task in ("test", "demo", "bench") else f"cs:{task}"


def usage_error(parse_error: str, task: str | None, options: list[str]) -> str:
    """invoke's parse error as one `error:` line and a `hint:` (text, for invoke's Exit)."""
    message = parse_error.strip()
    if "did not receive required positional arguments" in message:
        message = "expected one ORG/NAME" if task != "adopt" else "expected one PATH"
    elif message.startswith("No idea what"):
        word = message.split("'")[1] if "'" in message else message
        message = f"unknown option {word}" if word.startswith("-") else f"unexpected '{word}'"
    elif message.startswith("Flag <Argument:") and "needed value" in message:
        flag = message.split("Argument: ", 1)[1].split(" ", 1)[0].rstrip(">").replace("_", "-")
        message = f"--{flag} needs a value"
    known = ", ".join(o for o in options if o.startswith("--")) or "none"
    see = f"; see `mise run {mise_name(task)} --help`" if task else ""
    hint = f"options here: {known}{see}"
    if message.endswith(" after the command"):  # cs:exec ORG/NAME CMD... --docker-host H
        flag = message.split()[0]
        message = f"{flag} after the command is {mise_name(task or '')}'s own option"
        hint = (
            f"put it before the command (ORG/NAME {flag} VALUE CMD...); "
            "to pass it to the command, write `-- --` before CMD"
        )
    return f"error: {message}\n  hint: {hint}"


def problems(items: Iterable[Any], *, indent: str = "    ", with_path: bool = True) -> None:
    """Problems as `FILE:LINE:COL: $.path: message` with their hint."""
    for p in items:
        path = f"[cyan]{escape(p.path)}[/]: " if with_path else ""
        out.print(f"[bold]{escape(p.location())}[/]: {path}{escape(p.message)}", markup=True)
        if p.hint:
            out.print(f"{indent}[dim]hint:[/] {escape(p.hint)}", markup=True)


def ticker(label: str, total: int) -> Callable[[str], None]:
    """Not on a terminal (a log, CI): one stderr line per item as its work starts,
    `label KEY (N/TOTAL)`; on a terminal nothing (a live bar, where there is one)."""
    count = iter(range(1, total + 1))

    def tick(key: str) -> None:
        if not err.is_terminal:
            err.print(f"{label} {key} ({next(count, total)}/{total})", markup=False)

    return tick


def progress(label: str, items: list[T], work: Callable[[T], R], *, show: bool = True) -> list[R]:
    """`work` on every item, with a transient progress bar on stderr (`label KEY`); not
    on a terminal, a line per item instead (ticker)."""
    if not show:
        return [work(item) for item in items]
    if not err.is_terminal:
        tick = ticker(label, len(items))
        return [(tick(str(getattr(item, "key", ""))), work(item))[1] for item in items]
    results = []
    with Progress(console=err, transient=True) as bar:
        task = bar.add_task(label, total=len(items))
        for item in items:
            bar.update(task, description=f"{label} {getattr(item, 'key', '')}".rstrip())
            results.append(work(item))
            bar.advance(task)
    return results
