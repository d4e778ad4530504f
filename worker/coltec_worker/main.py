"""`coltec-worker`: the command-line edge of the worker. Parses, renders, picks exit codes.

    coltec-worker [--config PATH] [--once] [--dry-run] [--only NAME]... [--validate-only]
    coltec-worker status [--json]
    coltec-worker flush [--timeout S] [--stop]
    coltec-worker reload

Exit codes: 0 ok; 1 a sync failed (--once, flush) or the state directory cannot hold
the pidfile; 2 invalid configuration or usage.
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
from typing import TYPE_CHECKING, Any, TextIO

from .args import Args, parse, seconds
from .environ import worker_environment
from .errors import ColtecError, ConfigError
from .log import Logger, Redactor
from .state import AlreadyRunning, Layout, PidLock, default_state_dir, state_error_message

if TYPE_CHECKING:  # the loop (schedule...) loads only for the daemon, not --validate-only
    from .loop import Options, Worker

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SECRETS_POLL = 10.0


def _layout(args: Any) -> Layout:
    """The state directory of parsed arguments (ours, or argparse's for status/flush)."""
    return Layout(args.state_dir or default_state_dir(args.config, os.environ))


def _open_log(path: str | None) -> TextIO:
    if path is None:
        return sys.stderr
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return open(path, "a", encoding="utf-8", buffering=1)


def _options(args: Args, env: dict[str, str]) -> Options:
    from .loop import Options

    try:
        base = seconds(env.get("COLTEC_BACKOFF_BASE", "15"))
    except ValueError as exc:
        raise ConfigError(f"COLTEC_BACKOFF_BASE: {exc}", hint="unset it for 15 s") from None
    return Options(
        only=tuple(args.only),
        timeout=args.rclone_timeout,
        start_delay=args.start_delay,
        backoff_base=base,
        # The daemon runs a plan compiled in a child: it never loads YAML or the schema.
        compile_in_child=not (args.once or args.dry_run),
    )


def run_worker(args: Args) -> int:
    from .loop import Worker, overall_ok

    env = worker_environment()
    layout = _layout(args)
    try:
        stream = _open_log(args.log_file)
    except OSError as exc:
        print(
            f"coltec-worker: cannot open the log file {args.log_file}: {exc.strerror}\n"
            "    hint: give a writable --log-file, or none for stderr",
            file=sys.stderr,
        )
        return EXIT_USAGE
    logger = Logger(stream, Redactor.from_env(env))
    try:
        options = _options(args, env)
    except ConfigError as exc:
        logger.error("invalid_configuration", error=exc.message, hint=exc.hint)
        return EXIT_USAGE
    home = env.get("HOME") or os.path.expanduser("~")
    worker = Worker(args.config, layout, logger, env=env, home=home, options=options)
    if args.dry_run:
        return dry_run(worker)
    lock = PidLock(layout.pidfile)
    try:
        lock.acquire()
    except OSError as exc:  # the state directory cannot even hold the pidfile
        message, hint = state_error_message(layout.root, exc)
        logger.error("state_unwritable", error=message.split(":")[0], hint=hint)
        return EXIT_FAILED
    except AlreadyRunning as exc:
        if args.once:
            logger.error(
                "already_running",
                pid=exc.pid,
                hint="a daemon owns this state directory; use `coltec-worker flush`",
            )
            return EXIT_USAGE
        logger.info("already_running", pid=exc.pid, pidfile=str(layout.pidfile))
        return EXIT_OK
    try:
        if not _wait_for_secrets(args, worker):
            return EXIT_FAILED
        worker.install_signals()
        try:
            worker.configure()
        except ColtecError as exc:
            logger.error(
                "invalid_configuration",
                error=exc.message,
                hint=exc.hint,
                problems=[p.format() for p in getattr(exc, "problems", [])] or None,
            )
            return EXIT_USAGE if isinstance(exc, ConfigError) else EXIT_FAILED
        if args.once:
            verdicts = worker.run_all()
            return EXIT_OK if overall_ok(verdicts) else EXIT_FAILED
        worker.serve()
        return EXIT_OK
    finally:
        lock.release()


def _wait_for_secrets(args: Args, worker: Worker) -> bool:
    """The secrets file is readable (merged into the environment): go on; else touch no data.

    --once gives up at once; the daemon waits, checking every SECRETS_POLL seconds, so a
    later `cs:up` (which writes the file again) gets it going without a restart.
    """
    import time

    from .secretfile import missing

    problem = missing(worker.env)
    if problem is None:
        return True
    worker.logger.error("secrets_missing", error=problem, hint="run `mise run cs:up` on the host")
    if args.once:
        return False
    while problem is not None:
        time.sleep(SECRETS_POLL)
        problem = missing(worker.env)
    worker.env = worker_environment(worker.env)
    worker.logger.redactor = Redactor.from_env(worker.env)
    worker.logger.info("secrets_found")
    return True


def dry_run(worker: Worker) -> int:
    try:
        worker.configure()
        assert worker.engine is not None
        for sync in sorted(worker.paths.values(), key=lambda s: -s.priority):
            p = worker.engine.plan(sync)
            print(
                json.dumps(
                    {
                        "path": p.name,
                        "direction": sync.direction,
                        "resync": p.resync,
                        "argv": worker.logger.redactor.value(list(p.argv)),
                    }
                )
            )
    except ColtecError as exc:
        print(
            f"error: {exc.message}" + (f"\n    hint: {exc.hint}" if exc.hint else ""),
            file=sys.stderr,
        )
        return EXIT_USAGE
    return EXIT_OK


def status_main(argv: Sequence[str]) -> int:
    import argparse

    from .args import add_common
    from .secretfile import missing as secrets_missing
    from .status import collect, render_text

    parser = argparse.ArgumentParser(
        prog="coltec-worker status", description="Show the worker's per-path status."
    )
    add_common(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable (for cs:list)")
    args = parser.parse_args(argv)
    data = collect(_layout(args))
    data["problem"] = secrets_missing(os.environ)
    print(json.dumps(data, indent=2) if args.json else render_text(data))
    return EXIT_OK


def reload_main(argv: Sequence[str]) -> int:
    """Ask the running daemon to reload its configuration and secrets (SIGHUP)."""
    import argparse
    import signal

    from .args import add_common
    from .state import daemon_pid

    parser = argparse.ArgumentParser(
        prog="coltec-worker reload",
        description="Reload the configuration and the secrets file in the running daemon.",
    )
    add_common(parser)
    pid = daemon_pid(_layout(parser.parse_args(argv)))
    if pid is None:
        print("coltec-worker reload: no daemon running", file=sys.stderr)
        return EXIT_FAILED
    os.kill(pid, signal.SIGHUP)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["status"]:
        return status_main(argv[1:])
    if argv[:1] == ["reload"]:
        return reload_main(argv[1:])
    if argv[:1] == ["flush"]:
        from .flush import flush_main

        return flush_main(argv[1:])
    args = parse(argv)
    if args.validate_only:
        from .validate_cmd import validate_and_print

        return validate_and_print(args.config, as_json=args.json, env=worker_environment())
    try:
        return run_worker(args)
    except KeyboardInterrupt:  # pragma: no cover - --once interrupted at a terminal
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
