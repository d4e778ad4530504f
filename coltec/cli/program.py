"""invoke's command line for tasks.py, with the two shapes its parser lacks.

mise hands a task's words to this program (`python tasks.py TASK WORDS...`), which is
invoke's own `Program` over the tasks in tasks.py. invoke 3 parses options, repeated
options (`iterable=`) and required positionals (`positional=`), but has no optional or
variadic positional (pyinvoke/invoke#159, #760). Two task attributes add them:

- `task.variadic = NAME`: every word that is not an option is appended to the list
  argument NAME (`cs:validate [TARGET...] [--json]`, `cs:update [ORG/NAME] --all`);
- `task.rest = NAME`: once the required positionals are filled, every word — options
  included, quoting intact — goes to the list argument NAME (`cs:exec ORG/NAME CMD...`;
  mise drops the `--` users write before CMD, invoke's own `--` works too).

A parse error is a usage error: one `error:` line, a `hint:`, exit 2 (as documented).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import sys
from collections.abc import Callable, Iterator
from functools import wraps
from typing import Any

import invoke.parser.parser as invoke_parser
from invoke.collection import Collection
from invoke.exceptions import Exit, ParseError
from invoke.program import Program
from invoke.tasks import task

from coltec.errors import ColtecError, stdout_guarded

from .options import help_for
from .render import error, mise_name, usage_error

PLACEHOLDERS = {"workspace": "ORG/NAME", "path": "PATH", "target": "TARGET", "command": "CMD"}


def cs(variadic: str = "", rest: str = "", **options: Any) -> Callable[..., Any]:
    """@task with help for every argument (cli.options), and errors rendered once.

    A ColtecError is printed here, `error:` and `hint:`, and exits with its own code.
    `variadic`/`rest` name a list argument filled from positional words (cli.program).
    """

    def decorate(fn: Callable[..., Any]) -> Any:
        @wraps(fn)
        def edge(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except ColtecError as exc:
                error(exc.message, exc.hint)
                raise Exit(code=exc.exit_code) from None

        names = list(inspect.signature(fn).parameters)[1:]
        options["help"] = help_for(fn.__name__.rstrip("_"), names)
        made = task(**options)(edge)
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
            # kept verbatim: once `unparsed` has words, invoke stops splitting `-la`, `--a=b`
            machine.result.unparsed.append(token)
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
        self._task_help()
        try:
            with _machine():
                super().parse_tasks()
        except ParseError as exc:
            task = getattr(exc.context, "name", None) if exc.context else None
            raise Exit(usage_error(str(exc), task, self._options(task)), code=2) from None
        for context in self.tasks:
            rest = getattr(context, "rest", None)
            for word in [*self.tasks.unparsed, *self._remainder()] if rest else []:
                context.args[rest].value = word  # a list argument appends

    def _task_help(self) -> None:
        """`TASK --help` / `-h` prints the task's help, exit 0, also where a positional is
        required (invoke would take the word as its value); for a `rest` task only as its
        first word (`cs:exec ORG/NAME ls --help` is the command's)."""
        words = list(self.core.unparsed)
        if not {"--help", "-h"} & set(words[1:]):
            return  # the usual case: no second parser built
        self.parser = self._make_parser()
        if words[0] not in self.parser.contexts:
            return
        context = self.parser.contexts[words[0]]
        after = words[1:][:1] if getattr(context, "rest", None) else words[1:]
        after = after[: after.index("--")] if "--" in after else after
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
        TasksProgram(namespace=Collection.from_module(tasks_module), binary="invoke").run()
        return 0

    # `mise run cs:list --json | head`: the reader went away
    sys.exit(stdout_guarded(body))
