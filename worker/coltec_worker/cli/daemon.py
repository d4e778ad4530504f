"""Running the worker: the daemon, `--once` and `--dry-run` (main.py dispatches here).

Takes the pidfile lock, waits for the secrets file, configures (the plan compiled by a
child process for the daemon), then serves or runs one pass. Exit codes come from
errors.EXIT_*: a configuration error is the error's own code.
"""

from __future__ import annotations

import json
import os
import sys

from coltec_worker.cli.args import Args, layout_of
from coltec_worker.cli.values import DISABLED_ENV, disabled, seconds
from coltec_worker.declaration.compiled import run_order
from coltec_worker.declaration.environ import worker_environment
from coltec_worker.errors import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    ColtecError,
    ConfigError,
    print_error,
)
from coltec_worker.log import Logger, Redactor
from coltec_worker.record import TYPE_CHECKING
from coltec_worker.sync.pidfile import AlreadyRunning, PidLock
from coltec_worker.sync.state import not_a_folder, state_error_message

if TYPE_CHECKING:  # the loop (schedule...) loads only for the daemon, not --validate-only
    from typing import TextIO

    from coltec_worker.sync.loop import Options, Worker

SECRETS_POLL = 10.0


def _open_log(path: str | None) -> TextIO:
    if path is None:
        return sys.stderr
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    return open(path, "a", encoding="utf-8", buffering=1)


def _options(args: Args, env: dict[str, str]) -> Options:
    from coltec_worker.sync.loop import Options

    try:
        base = seconds(env.get("COLTEC_BACKOFF_BASE", "15"))
    except ValueError as exc:
        raise ConfigError(f"COLTEC_BACKOFF_BASE: {exc}", hint="unset it for 15 s") from None
    return Options(
        only=tuple(args.only),
        interval=args.interval,
        timeout=args.rclone_timeout,
        start_delay=args.start_delay,
        backoff_base=base,
        # The daemon runs a plan compiled in a child: it never loads YAML or the schema.
        compile_in_child=not (args.once or args.dry_run),
    )


def run_worker(args: Args) -> int:
    from coltec_worker.sync.loop import Worker, overall_ok

    env = worker_environment()
    layout = layout_of(args)
    try:
        stream = _open_log(args.log_file)
    except OSError as exc:
        print_error(
            f"cannot open the log file {args.log_file}: {exc.strerror}",
            "give a writable --log-file, or none for stderr",
        )
        return EXIT_USAGE
    logger = Logger(stream, Redactor.from_env(env), level=args.log_level, fmt=args.log_format)
    try:
        options = _options(args, env)
        paused = disabled(env)
    except ConfigError as exc:
        logger.error("invalid_configuration", error=exc.message, hint=exc.hint)
        return EXIT_USAGE
    blocked = not_a_folder(layout.root)
    if blocked is not None:
        logger.error(
            "invalid_configuration",
            error=f"the state directory {layout.root}: {blocked} is not a folder",
            hint="point --state-dir or COLTEC_STATE_DIR at a folder (created if missing)",
        )
        return EXIT_USAGE
    home = env.get("HOME") or os.path.expanduser("~")
    worker = Worker(args.config, layout, logger, env=env, home=home, options=options)
    if args.dry_run:
        return dry_run(worker)
    if paused:  # the predecessor's switch: start nothing, touch no data, and say so once
        logger.info(
            "disabled",
            reason=f"{DISABLED_ENV}={env[DISABLED_ENV]}",
            hint=f"unset {DISABLED_ENV} (or set it to false) and start the worker again",
        )
        return EXIT_OK
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
            return exc.exit_code
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

    from coltec_worker.declaration.secretfile import missing

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
        assert worker.path_runner is not None
        for sync in run_order(worker.paths.values()):
            p = worker.path_runner.plan(sync)
            print(
                json.dumps(
                    {
                        "path": p.name,
                        "direction": sync.direction,
                        "interval": sync.interval,
                        "resync": p.resync,
                        "argv": worker.logger.redactor.value(list(p.argv)),
                    }
                )
            )
    except ColtecError as exc:
        print_error(exc.message, exc.hint)
        return exc.exit_code
    return EXIT_OK
