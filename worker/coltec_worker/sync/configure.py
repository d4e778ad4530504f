"""The worker's configuration: its options, and a compiled plan made ready to run.

- Options: what the command line chose (which paths, rclone and its limits, the start
  delay and backoff, where the plan is compiled).
- compile_plan: the plan from the one pipeline, in a child process for the daemon (so
  it never loads YAML or the schema), in process for --once and --dry-run.
- with_secrets: the environment with the secrets file read again.
- prepare: what the loop runs for a plan — the paths (--only, persistence.enabled), the
  remotes' environment for rclone (remote_env.ready: `${VAR}`s expanded, crypt
  passwords obscured, all of it redacted), the PathRunner, and the tailnet with
  networking.enabled. An unknown --only name raises
  ConfigError before anything changes, so the caller keeps its old configuration.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from coltec_worker.declaration import secretfile
from coltec_worker.declaration.compiled import Plan, PlannedPath
from coltec_worker.declaration.statedir import check_state_dir
from coltec_worker.errors import ConfigError
from coltec_worker.log import Logger, Redactor
from coltec_worker.record import TYPE_CHECKING, Record
from coltec_worker.sync import runner
from coltec_worker.sync.compile_child import compile_in_child
from coltec_worker.sync.job import PathRunner
from coltec_worker.sync.remote_env import ready
from coltec_worker.sync.state import Layout, StrPath

if TYPE_CHECKING:  # imported only with networking.enabled: it brings subprocess (~2 MB)
    from coltec_worker.sync.tailnet import Tailnet


class Options(Record):
    only: tuple[str, ...] = ()
    interval: int | None = None  # --interval: every path's, in place of its own
    rclone: str = "rclone"
    timeout: float = 3600.0  # one rclone run
    grace: float = 30.0  # after the one SIGINT, before SIGKILL
    start_delay: float = 60.0  # at most; spreads many containers' first runs
    backoff_base: float = 15.0
    compile_in_child: bool = False  # the daemon: True (see compile_plan)


class Setup(Record):
    """What the loop runs for one plan."""

    paths: dict[str, PlannedPath]
    path_runner: PathRunner
    tailnet: Tailnet | None


def compile_plan(config: StrPath, env: Mapping[str, str], home: str, *, in_child: bool) -> Plan:
    """The plan from the one pipeline: in a child process for the daemon, so it never
    loads YAML or the schema; in process for --once and --dry-run."""
    if in_child:
        return compile_in_child(config, env)
    from coltec_worker.declaration.pipeline import compile_here

    return compile_here(config, env, home)


def with_secrets(env: Mapping[str, str]) -> Mapping[str, str]:
    """`env` with the secrets file read again.

    A cs:up since the last load may have rotated a secret (it then sends SIGHUP). A file
    gone meanwhile keeps the values already held: `env` itself comes back.
    """
    fresh = dict(env)
    return fresh if secretfile.apply(fresh) is None else env


def prepare(
    plan: Plan,
    options: Options,
    *,
    config: StrPath,
    layout: Layout,
    logger: Logger,
    env: Mapping[str, str],
    wake_fd: int | None,
    stop_requested: Callable[[], bool],
) -> Setup:
    """The paths, runner and tailnet for `plan`; sets the logger's redactor."""
    names = [p.name for p in plan.paths]
    unknown = [n for n in options.only if n not in names]
    if unknown:
        raise ConfigError(
            f"--only {unknown[0]}: no sync path of that name",
            hint="names: " + ", ".join(names),
        )
    chosen = [p for p in plan.paths if not options.only or p.name in options.only]
    check_state_dir(layout.root, ((p.name, p.local) for p in plan.paths))
    if options.interval is not None:
        chosen = [p._replace(interval=options.interval) for p in chosen]
    if not plan.persistence_enabled:
        chosen = []
    child_env = dict(env)
    redactor = Redactor.from_env(env)

    def obscure(secret: str) -> str:
        return runner.obscure(secret, env, options.rclone)

    remotes = {}
    legacy = not plan.remotes or any(not p.remote for p in chosen)
    for name in ["", *sorted({p.remote for p in chosen if p.remote})]:
        if name == "" and not legacy:
            continue
        made = ready(plan.remotes[name] if name else plan.remote, env, obscure, config=plan.config)
        remotes[name] = made.remote
        child_env.update(made.env)
        for secret in made.secrets:
            redactor.add(secret)
    logger.redactor = redactor
    remote = plan.remote
    if legacy and remote.builtin:
        os.makedirs(remote.root if remote.root.startswith("/") else "/", exist_ok=True)
        logger.warning(
            "builtin_remote",
            remote=remote.description,
            hint="set RCLONE_REMOTE_NAME, RCLONE_BUCKET and "
            "RCLONE_CONFIG_<NAME>_* to sync to S3/R2",
        )
    if not plan.persistence_enabled:
        logger.warning(
            "persistence_disabled",
            config=str(config),
            hint="set persistence.enabled: true to sync",
        )
    paths = {p.name: p for p in chosen}
    path_runner = PathRunner(
        remotes.get("", remote),
        layout,
        child_env,
        logger,
        redactor,
        rclone=options.rclone,
        timeout=options.timeout,
        grace=options.grace,
        wake_fd=wake_fd,
        stop_requested=stop_requested,
        remotes=remotes,
    )
    tailnet = None
    if plan.networking_enabled:
        from pathlib import Path  # only with networking: the daemon does without

        from coltec_worker.sync.tailnet import Tailnet

        tailnet = Tailnet(
            plan.hostname,
            plan.tags,
            Path(layout.root),
            logger,
            env,
            sync_paths=tuple(p.local for p in plan.paths),
            workspace=plan.workspace,
        )
    logger.info(
        "configured",
        config=str(config),
        remote=remote.description if legacy else None,
        remotes={n: r.description for n, r in remotes.items() if n} or None,
        state_dir=str(layout.root),
        paths=list(paths),
        interval=options.interval,
    )
    return Setup(paths, path_runner, tailnet)
