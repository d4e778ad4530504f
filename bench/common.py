"""Shared by the fleet and nexus benchmarks: paths, /proc readings, the results file.

Only the standard library: the figures come from /proc (Linux), so nothing extra is
installed to take them.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
RESULTS = REPO / "bench" / "results.md"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def tool_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """os.environ with .venv/bin first on PATH (rclone, copier, coltec-worker live there)."""
    path = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, **(extra or {})}


def machine() -> str:
    """One line saying when and where a figure was taken."""
    mem_gib = 0.0
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return (
        f"{datetime.date.today().isoformat()}, Python {sys.version.split()[0]}, "
        f"{platform.system()} {platform.release()}, {os.cpu_count()} CPUs, {mem_gib:.0f} GiB"
    )


# -- /proc ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    """The fields of /proc/PID/stat the benchmarks use (CPU times in seconds)."""

    pid: int
    comm: str
    ppid: int
    cpu_self: float  # utime + stime
    cpu_children: float  # cutime + cstime: children that were waited for


def read_stat(pid: int) -> Stat | None:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            text = fh.read()
    except OSError:  # gone between listing and reading
        return None
    # comm may contain spaces and parentheses: it ends at the last ')'.
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime..cstime are fields 14..17.
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return Stat(pid, comm, int(fields[1]), (utime + stime) / CLK_TCK, (cutime + cstime) / CLK_TCK)


def all_stats() -> list[Stat]:
    out: list[Stat] = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            stat = read_stat(int(name))
            if stat is not None:
                out.append(stat)
    return out


def rss_kb(pid: int) -> int:
    """Resident set size in KiB (0 when the process is gone)."""
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def pss_kb(pid: int) -> int:
    """Proportional set size in KiB: shared pages (the interpreter, libraries) split fairly."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# -- bench/results.md ----------------------------------------------------------------


def write_section(title: str, body: str, results: Path = RESULTS) -> None:
    """Replace (or append) the section `title` ("## Fleet"); other sections stay as they are."""
    text = results.read_text(encoding="utf-8") if results.exists() else "# Benchmark results\n"
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == title), None)
    if start is None:
        new = text.rstrip("\n") + "\n\n" + body
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
        new = "\n".join(
            [*lines[:start], body.rstrip("\n"), *([""] if end < len(lines) else []), *lines[end:]]
        )
    results.write_text(new.rstrip("\n") + "\n", encoding="utf-8")


def table(header: list[str], rows: list[list[str]], align: str = "") -> str:
    """A markdown table; `align` is one letter per column, 'l' or 'r' (default: l, then r)."""
    align = align or "l" + "r" * (len(header) - 1)
    marks = ["---" if a == "l" else "---:" for a in align]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(marks) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)
