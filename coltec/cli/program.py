"""invoke's command line for tasks.py, with the two shapes its parser lacks.

mise hands a task's words to this program (`python tasks.py TASK WORDS...`), which is
invoke's own `Program` over the tasks in tasks.py. invoke 3 parses options, repeated
options (`iterable=`) and required positionals (`positional=`), but has no optional or
variadic positional (pyinvoke/invoke#159, #760). Two task attributes add them:

- `task.variadic = NAME`: every word that is not an option is appended to the list
  argument NAME (`cs:validate [TARGET...] [--json]`, `cs:update [ORG/NAME] --all`);
- `task.rest = NAME`: after the required positionals, the task's own options, then from the
  first other word (or a `--`) every word, quoting intact, goes to the list argument NAME
  (`cs:exec ORG/NAME [--docker-host H] CMD...`). mise drops the first `--` users write, so
  a task option written after CMD is refused (it would silently become the command's):
  `-- --` passes it to the command.

Every task also takes `-h/--help` and `-V/--version` anywhere before CMD, and its short
flags come from one table (cli.options.SHORT). A parse error is a usage error: one
`error:` line, a `hint:`, exit 2 (as documented).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import sys
import tomllib
from collections.abc import Callable, Iterator
from functools import wraps
from importlib import metadata
from pathlib import Path
from typing import Any

import invoke.parser.parser as invoke_parser
from invoke.collection import Collection
from invoke.exceptions import Exit, ParseError
from invoke.program import Program
from invoke.tasks import Task, task

from coltec.errors import ColtecError, stdout_guarded

from .options import SHORT, VERSION_HELP, help_for
from .render import error, mise_name, usage_error

PLACEHOLDERS = {"workspace": "ORG/NAME", "path": "PATH", "target": "TARGET", "command": "CMD"}


def _version(name: str, pyproject: Path) -> str:
    """An installed distribution's version, else the checkout's pyproject.toml's."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:  # run from a checkout on PYTHONPATH
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def version_line() -> str:
    root = Path(__file__).resolve().parents[2]
    worker = _version("coltec-worker", root / "worker" / "pyproject.toml")
    return f"coltec {_version('coltec', root / 'pyproject.toml')} (coltec-worker {worker})"


class CsTask(Task[Any]):
    """A task whose short flags come from cli.options.SHORT, with a `--version` flag."""

    def argspec(self, body: Callable[..., Any]) -> inspect.Signature:
        sig = super().argspec(body)
        flag = inspect.Parameter("version", inspect.Parameter.KEYWORD_ONLY, default=False)
        return sig.replace(parameters=[*sig.parameters.values(), flag])

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts: dict[str, Any] = super().arg_opts(name, default, taken_names)
        opts["names"] = opts["names"][:1] + ([SHORT[name]] if name in SHORT else [])
        if name == "version":
            opts["names"].append("V")
        return opts


def cs(variadic: str = "", rest: str = "", **options: Any) -> Callable[..., Any]:
    """@task with help for every argument (cli.options), and errors rendered once.

    A ColtecError is printed here, `error:` and `hint:`, and exits with its own code.
    `variadic`/`rest` name a list argument filled from positional words (cli.program).
    """

    def decorate(fn: Callable[..., Any]) -> Any:
        @wraps(fn)
        def edge(*args: Any, **kwargs: Any) -> Any:
            if kwargs.pop("version", False):  # `invoke validate --version` (invoke's parser)
                print(version_line())
                return None
            try:
                return fn(*args, **kwargs)
            except ColtecError as exc:
                error(exc.message, exc.hint)
                raise Exit(code=exc.exit_code) from None

        names = list(inspect.signature(fn).parameters)[1:]
        options["help"] = {**help_for(fn.__name__.rstrip("_"), names), "version": VERSION_HELP}
        made = task(klass=CsTask, **options)(edge)
        made.variadic, made.rest = variadic or None, rest or None
        return made

    return decorate


def _shaped_machine(*args: Any, **kwargs: Any) -> Any:
    """invoke's ParseMachine whose `handle` first fills a task's variadic/rest argument."""
    machine = _PARSE_MACHINE(*args, **kwargs)  # fluidity machines cannot be subclassed
    handle = machine.handle

    def shaped(token: str) -> None:
        context: Any = machine.context
        rest = getattr(context, "rest", None)
        if rest and not context.missing_positional_args:
            command = machine.result.unparsed
            if command or not (token.startswith("-") or machine.waiting_for_flag_value):
                if command and token.split("=")[0] in _task_options(context):
                    raise ParseError(f"{token.split('=')[0]} after the command", context)
                # kept verbatim: once `unparsed` has words, invoke stops splitting `-la`
                command.append(token)
                return
        unknown = token.startswith("-") and token not in context.flags
        if unknown and context.missing_positional_args and not machine.waiting_for_flag_value:
            # invoke would take it as the ORG/NAME still missing
            raise ParseError(f"No idea what {token!r} is!", context)
        variadic = getattr(context, "variadic", None)
        if variadic and not token.startswith("-") and not machine.waiting_for_flag_value:
            context.args[variadic].value = token  # a list argument appends
            return
        try:
            handle(token)
        except ValueError:  # invoke casts an int option's value as it reads it
            name = machine.flag.name if machine.flag else "option"
            message = f"--{name} needs a whole number, got '{token}'"
            raise ParseError(message, context) from None

    complete_flag = machine.complete_flag

    def completed() -> None:
        flag = machine.flag  # a repeatable option seen without its value: invoke lets it by
        if flag is not None and flag.kind is list and not machine.flag_got_value:
            raise ParseError(f"--{flag.name.replace('_', '-')} needs a value", machine.context)
        complete_flag()

    machine.handle = shaped  # type: ignore[method-assign]
    machine.complete_flag = completed  # type: ignore[method-assign]
    return machine


_PARSE_MACHINE = invoke_parser.ParseMachine


def _before_command(context: Any, words: list[str]) -> list[str]:
    """The words of a `rest` task before its command: positionals, options and values."""
    positionals, taking = len(context.positional_args), False
    for i, word in enumerate(words):
        if taking:
            taking = False
        elif word.startswith("-"):
            flag = context.flags.get(word.split("=")[0])
            taking = bool(flag and flag.takes_value and "=" not in word)
        elif positionals:
            positionals -= 1
        else:
            return words[:i]
    return words


def _task_options(context: Any) -> set[str]:
    """The long options of a task that a user may put after its command by mistake."""
    return {f for f in context.flags if f.startswith("--")} - {"--help", "--version"}


@contextlib.contextmanager
def _machine() -> Iterator[None]:
    # Parser.parse_argv builds its ParseMachine by this module-level name.
    invoke_parser.ParseMachine = _shaped_machine  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        invoke_parser.ParseMachine = _PARSE_MACHINE  # type: ignore[misc]


class TasksProgram(Program):
    """`invoke` for one tasks module, with `variadic`/`rest` positionals and exit 2 on misuse."""

    def _make_parser(self) -> Any:
        parser = super()._make_parser()
        for name, context in parser.contexts.items():
            body = self.collection[name]
            for shape in ("variadic", "rest"):
                setattr(context, shape, getattr(body, shape, None))
        return parser

    def parse_tasks(self) -> None:
        self._early_exits()
        try:
            with _machine():
                super().parse_tasks()
        except ParseError as exc:
            task = getattr(exc.context, "name", None) if exc.context else None
            raise Exit(usage_error(str(exc), task, self._options(task)), code=2) from None
        for context in self.tasks:
            rest = getattr(context, "rest", None)
            command, remainder = list(self.tasks.unparsed), self._remainder()
            words = [*command, "--", *remainder] if command and remainder else command + remainder
            for word in words if rest else []:
                context.args[rest].value = word  # a list argument appends

    def _early_exits(self) -> None:
        """`TASK --help`/`-h` prints the task's help, `--version`/`-V` the version, exit 0,
        also where a positional is required (invoke would take the word as its value); for
        a `rest` task only before its command (`cs:exec ORG/NAME ls --help` is the command's)."""
        words = list(self.core.unparsed)
        if not {"--help", "-h", "--version", "-V"} & set(words[1:]):
            return  # the usual case: no second parser built
        self.parser = self._make_parser()
        if words[0] not in self.parser.contexts:
            return
        context = self.parser.contexts[words[0]]
        after = words[1:]
        after = after[: after.index("--")] if "--" in after else after
        if getattr(context, "rest", None):
            after = _before_command(context, after)
        if any(w in ("--version", "-V") for w in after):
            print(version_line())
            raise Exit(code=0)
        if any(w in ("--help", "-h") and w not in context.flags for w in after):
            self.print_task_help(words[0])
            raise Exit(code=0)

    def print_task_help(self, name: str) -> None:
        """invoke's help for the task, under a usage line in the form users type."""
        context = self.parser.contexts[name]
        words = [PLACEHOLDERS.get(a.name, a.name.upper()) for a in context.positional_args]
        for shape in ("variadic", "rest"):
            if getattr(context, shape, None):
                words.append(f"[{PLACEHOLDERS.get(getattr(context, shape), 'ARG')}...]")
        body = io.StringIO()
        with contextlib.redirect_stdout(body):
            super().print_task_help(name)
        usage = " ".join(["Usage: mise run", mise_name(name), *words, "[--options]"])
        print(usage + "\n" + body.getvalue().partition("\n")[2], end="")

    def _remainder(self) -> list[str]:
        """The words after invoke's own `--`, as given (invoke re-joins them with spaces)."""
        argv: list[str] = self.argv
        return argv[argv.index("--") + 1 :] if "--" in argv else []

    def _options(self, task: str | None) -> list[str]:
        if task is None or task not in self.parser.contexts:
            return []
        return sorted(self.parser.contexts[task].flags)


def run(tasks_module: Any) -> None:
    """Run the program over `tasks_module` with sys.argv (mise's words)."""

    def body() -> int:  # invoke exits by SystemExit on errors, returns on success
        version = version_line().split(" ", 1)[1]  # `python tasks.py --version`
        collection = Collection.from_module(tasks_module)
        TasksProgram(namespace=collection, binary="invoke", name="coltec", version=version).run()
        return 0

    # `mise run cs:list --json | head`: the reader went away
    sys.exit(stdout_guarded(body))
