"""`coltec-worker`: the command-line edge of the worker. Parses, renders, picks exit codes.

    coltec-worker [--config PATH] [--once] [--dry-run] [--only NAME]... [--validate-only]
                  [--interval S] [--log-format text|json] [--log-level L]
    coltec-worker status [--json]
    coltec-worker flush [--timeout S] [--stop]
    coltec-worker reload

`coltec-daemon` is the same command under the predecessor's name (its log format
defaults to text, as the predecessor's did; see values.py).

Exit codes: 0 ok (also: COLTEC_DISABLED, or a daemon already running); 1 a sync failed
(--once, flush) or the state directory cannot hold the pidfile; 2 invalid configuration
or usage (a bad COLTEC_INTERVAL, COLTEC_LOG_* or COLTEC_DISABLED too).
The daemon imports the standard library and schedule only — no pyyaml, argparse,
dataclasses or pathlib: its plan is compiled by a child process (compile_cmd.py).
--validate-only runs the pipeline here, and loads jsonschema only to explain an
invalid file.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence

from coltec_worker.cli.args import layout_of, parse
from coltec_worker.declaration.environ import worker_environment
from coltec_worker.errors import EXIT_FAILED, EXIT_OK, ConfigError, print_error, stdout_guarded

SECRETS_POLL = 10.0


def status_main(argv: Sequence[str]) -> int:
    import argparse

    from coltec_worker.cli.args import add_common
    from coltec_worker.declaration.secretfile import missing as secrets_missing
    from coltec_worker.sync.status import collect, render_text

    parser = argparse.ArgumentParser(
        prog="coltec-worker status", description="Show the worker's per-path status."
    )
    add_common(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable (for cs:list)")
    args = parser.parse_args(argv)
    data = collect(layout_of(args))
    data["problem"] = secrets_missing(os.environ)
    print(json.dumps(data, indent=2) if args.json else render_text(data))
    return EXIT_OK


def reload_main(argv: Sequence[str]) -> int:
    """Ask the running daemon to reload its configuration and secrets (SIGHUP)."""
    import argparse
    import signal

    from coltec_worker.cli.args import add_common
    from coltec_worker.sync.pidfile import daemon_pid

    parser = argparse.ArgumentParser(
        prog="coltec-worker reload",
        description="Reload the configuration and the secrets file in the running daemon.",
    )
    add_common(parser)
    pid = daemon_pid(layout_of(parser.parse_args(argv)))
    if pid is None:
        print_error("coltec-worker reload: no daemon running", "start it (post-start.sh does)")
        return EXIT_FAILED
    os.kill(pid, signal.SIGHUP)
    return EXIT_OK


def main(argv: Sequence[str] | None = None, prog: str = "coltec-worker") -> int:
    return stdout_guarded(lambda: _main(list(sys.argv[1:] if argv is None else argv), prog))


def daemon_main(argv: Sequence[str] | None = None) -> int:
    """`coltec-daemon`: the worker under the predecessor's name, with its defaults."""
    return main(argv, prog="coltec-daemon")


def _main(argv: list[str], prog: str) -> int:
    if argv[:1] == ["status"]:
        return status_main(argv[1:])
    if argv[:1] == ["reload"]:
        return reload_main(argv[1:])
    if argv[:1] == ["flush"]:
        from coltec_worker.cli.flush import flush_main

        return flush_main(argv[1:])
    try:
        args = parse(argv, prog)
    except ConfigError as exc:  # a variable that gives a default is bad
        print_error(exc.message, exc.hint)
        return exc.exit_code
    if args.validate_only:
        from coltec_worker.cli.validate_cmd import validate_and_print

        return validate_and_print(args.config, as_json=args.json, env=worker_environment())
    from coltec_worker.cli.daemon import run_worker

    try:
        return run_worker(args)
    except KeyboardInterrupt:  # pragma: no cover - --once interrupted at a terminal
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
