"""The worker's command line: a small exact parser for the common path, argparse for the rest.

argparse (with gettext, locale and shutil, which it loads to format help) costs the
long-running daemon about 1 MB of memory. `parse` reads the flags the daemon, --once
and friends use by hand, and leaves everything else — --help, --version, abbreviations,
mistakes — to the argparse parser built by `build_parser`, which gives the standard
messages and exit code 2. A test keeps the two in agreement.

Two commands share it, `coltec-worker` and `coltec-daemon` (the predecessor's name); the
values of the options and their defaults from the environment are in values.py.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace

from coltec_worker import __version__
from coltec_worker.cli.values import (
    DEFAULT_LOG_FORMAT,
    defaults,
    delay,
    interval,
    log_format,
    log_level,
    seconds,
)
from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any

    from coltec_worker.sync.state import Layout

DEFAULT_CONFIG = "/workspace/.devcontainer/workspace-spec.yaml"
Args = SimpleNamespace  # argparse.Namespace without argparse: attribute access only


def typed(convert: Callable[[str], Any]) -> Callable[[str], Any]:
    """A converter for argparse: its ValueError message becomes argparse's message."""
    import argparse

    def typed(text: str) -> Any:
        try:
            return convert(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    typed.__name__ = convert.__name__
    return typed


def add_common(parser: Any) -> None:
    """--config and --state-dir, shared by the worker, status and flush."""
    parser.add_argument(
        "--config",
        default=os.environ.get("COLTEC_CONFIG", DEFAULT_CONFIG),
        help=f"workspace-spec.yaml (default: {DEFAULT_CONFIG})",
    )
    parser.add_argument(
        "--state-dir",
        default=None,
        help="state directory (default: $COLTEC_STATE_DIR, else "
        "<workspace>/.coltec/state next to .devcontainer/)",
    )


def build_parser(prog: str = "coltec-worker", env: Mapping[str, str] | None = None) -> Any:
    import argparse

    default = defaults(prog, env)
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Keep the workspace's declared folders in S3/R2 with rclone. "
        "Subcommands: status [--json], flush [--timeout S] [--stop], reload. "
        "Exit 0 ok, 1 a sync failed (--once), 2 invalid configuration or usage.",
    )
    add_common(parser)
    parser.add_argument("--once", action="store_true", help="one pass of every path, then exit")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print each path's planned rclone command (JSON lines); run nothing",
    )
    parser.add_argument(
        "--validate-only",
        action="store_true",
        help="full validation (schema + rules + user config), then exit",
    )
    parser.add_argument("--json", action="store_true", help="with --validate-only: JSON report")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help="only this sync path (repeatable)",
    )
    parser.add_argument(
        "--log-file", default=None, help="append JSON-lines log here (default: stderr)"
    )
    parser.add_argument(
        "--start-delay",
        type=typed(delay),
        default=60.0,
        metavar="S",
        help="spread first runs over at most S seconds (default 60; 0: none)",
    )
    parser.add_argument(
        "--rclone-timeout",
        type=typed(seconds),
        default=3600.0,
        metavar="S",
        help="stop one rclone run after S seconds (default 3600)",
    )
    parser.add_argument(
        "--interval",
        type=typed(interval),
        default=default["interval"],
        metavar="S",
        help="run every path every S seconds, whatever its interval says "
        "(default: $COLTEC_INTERVAL, else each path's own)",
    )
    parser.add_argument(
        "--log-format",
        type=typed(log_format),
        default=default["log_format"],
        metavar="text|json",
        help=f"log lines as text or JSON (default: $COLTEC_LOG_FORMAT, else "
        f"{DEFAULT_LOG_FORMAT[prog]})",
    )
    parser.add_argument(
        "--log-level",
        type=typed(log_level),
        default=default["log_level"],
        metavar="L",
        help="trace|debug|info|warn|error (default: $COLTEC_LOG_LEVEL, else info)",
    )
    parser.add_argument("-V", "--version", action="version", version=f"{prog} {__version__}")
    return parser


SWITCHES = {
    "--once": "once",
    "--dry-run": "dry_run",
    "--validate-only": "validate_only",
    "--json": "json",
}
VALUES: dict[str, tuple[str, Callable[[str], Any]]] = {
    "--config": ("config", str),
    "--state-dir": ("state_dir", str),
    "--log-file": ("log_file", str),
    "--start-delay": ("start_delay", delay),
    "--rclone-timeout": ("rclone_timeout", seconds),
    "--interval": ("interval", interval),
    "--log-format": ("log_format", log_format),
    "--log-level": ("log_level", log_level),
}


def parse_fast(
    argv: Sequence[str], prog: str = "coltec-worker", env: Mapping[str, str] | None = None
) -> Args | None:
    """The worker's flags written in full, or None for anything argparse should answer.
    ConfigError when a variable that gives a default is bad."""
    args = Args(
        **defaults(prog, env),
        config=(os.environ if env is None else env).get("COLTEC_CONFIG", DEFAULT_CONFIG),
        state_dir=None,
        once=False,
        dry_run=False,
        validate_only=False,
        json=False,
        only=[],
        log_file=None,
        start_delay=60.0,
        rclone_timeout=3600.0,
    )
    items = list(argv)
    while items:
        flag = items.pop(0)
        if flag in SWITCHES:
            setattr(args, SWITCHES[flag], True)
            continue
        name, _, value = flag.partition("=")
        if name not in VALUES and name != "--only":
            return None
        if not _:
            if not items or items[0].startswith("-"):
                return None
            value = items.pop(0)
        if name == "--only":
            args.only.append(value)
            continue
        attr, convert = VALUES[name]
        try:
            setattr(args, attr, convert(value))
        except ValueError:
            return None
    return args


def parse(argv: Sequence[str], prog: str = "coltec-worker") -> Args:
    """The parsed command line; argparse answers (and may exit 0 or 2) what parse_fast does
    not. ConfigError (exit 2) when a variable that gives a default is bad."""
    fast = parse_fast(argv, prog)
    if fast is not None:
        return fast
    return Args(**vars(build_parser(prog).parse_args(list(argv))))


def layout_of(args: Any) -> Layout:
    """The state directory of parsed arguments (ours, or argparse's for status/flush)."""
    from coltec_worker.sync.state import Layout, default_state_dir

    return Layout(args.state_dir or default_state_dir(args.config, os.environ))


def once_args(config: str, state_dir: str | None, rclone_timeout: float) -> Args:
    """The arguments of `coltec-worker --once` (flush without a daemon runs one pass)."""
    args = parse_fast([])
    assert args is not None  # no words: the fast parser always answers
    args.config, args.state_dir, args.once = config, state_dir, True
    args.rclone_timeout = rclone_timeout
    return args
