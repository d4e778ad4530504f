"""mise's `usage` field of every task, generated from the tasks' own declarations.

The options of a task are declared once: its signature in tasks.py, its help in
cli.options. mise shows a task's `usage` (`mise tasks info`, completions); each task also
has `raw_args = true`, so mise hands every word to tasks.py unparsed and the one parser
(cli.program) decides, with its own errors and exit codes, and its own `--help`.

    python -m coltec.cli.usage          # exit 1 when mise.toml disagrees (names the tasks)
    python -m coltec.cli.usage --write  # rewrite the tasks' `usage` in mise.toml
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

from invoke.collection import Collection

from .render import mise_name

REPO_ROOT = Path(__file__).resolve().parents[2]


def _kdl(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def task_usage(body: Any) -> str:
    """The usage spec (KDL) of one invoke task: args first, then flags."""
    saved = dict(body.help)  # get_arguments consumes the help it uses
    try:
        arguments = body.get_arguments()
    finally:
        body.help = saved
    shaped = {getattr(body, "variadic", None), getattr(body, "rest", None)} - {None}
    args, flags = [], []
    for a in arguments:
        help_ = f" help={_kdl(a.help)}" if a.help else ""
        long, name = a.names[0], a.names[0].replace("-", "_")
        if a.positional:
            args.append(f"arg {_kdl(f'<{name}>')}{help_}")
        elif a.attr_name in shaped or a.name in shaped:
            args.append(f"arg {_kdl(f'[{name}]...')}{help_} var=#true")
        else:
            short = [f"-{n}" for n in a.names if len(n) == 1]
            names = " ".join([*short, f"--{long}"])
            if a.takes_value:
                names += f" <{name}>"
            extra = " var=#true" if a.kind is list else ""
            if a.kind is bool and a.default is True:
                extra += f" negate={_kdl(f'--no-{long}')}"
            flags.append(f"flag {_kdl(names)}{help_}{extra}")
    return "\n".join([*args, *flags]) + "\n"


def load_tasks(path: Path = REPO_ROOT / "tasks.py") -> ModuleType:
    spec = importlib.util.spec_from_file_location("coltec_tasks", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def usages(tasks: ModuleType) -> dict[str, str]:
    """{mise task name: usage spec} for every task of the tasks module."""
    collection = Collection.from_module(tasks)
    return {mise_name(name): task_usage(collection[name]) for name in collection.task_names}


def disagreements(mise_toml: Path, wanted: dict[str, str]) -> list[str]:
    """The mise tasks whose `usage`/`raw_args` differ from the declarations."""
    declared = tomllib.loads(mise_toml.read_text(encoding="utf-8")).get("tasks", {})
    wrong = [n for n, spec in wanted.items() if declared.get(n, {}).get("usage") != spec]
    wrong += [n for n in wanted if declared.get(n, {}).get("raw_args") is not True]
    return sorted(set(wrong))


SECTION = re.compile(r'^\[tasks\.(?:"([^"]+)"|([\w:-]+))\]\s*$')


def rewritten(text: str, wanted: dict[str, str]) -> str:
    """mise.toml with each task's `raw_args` and `usage` (after its `run`) regenerated."""
    out: list[str] = []
    lines, current, skipping = text.splitlines(), None, False
    for line in lines:
        if skipping:
            skipping = not line.endswith("'''")
            continue
        match = SECTION.match(line)
        if match:
            current = match.group(1) or match.group(2)
        elif line.startswith("raw_args =") and current in wanted:
            continue
        elif line.startswith("usage = '''") and current in wanted:
            skipping = not line.endswith("'''") or line == "usage = '''"
            continue
        out.append(line)
        if current in wanted and line.startswith("run = "):
            out += ["raw_args = true", "usage = '''", *wanted[current].splitlines(), "'''"]
    return "\n".join(out) + "\n"


def main(argv: list[str]) -> int:
    mise_toml = REPO_ROOT / "mise.toml"
    wanted = usages(load_tasks())
    if argv[:1] == ["--write"]:
        mise_toml.write_text(rewritten(mise_toml.read_text(encoding="utf-8"), wanted))
        return 0
    wrong = disagreements(mise_toml, wanted)
    for name in wrong:
        print(f"mise.toml: task {name}: usage differs from tasks.py", file=sys.stderr)
    if wrong:
        print("  hint: python -m coltec.cli.usage --write", file=sys.stderr)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
