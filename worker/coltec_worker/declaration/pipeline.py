"""The one pipeline: declaration -> verdict and, when valid, the plan the daemon runs.

    YAML, bounded (source.py) -> JSON Schema (schemacheck.py; jsonschema only to
    explain) -> semantic rules (rules.py) -> user config, same stages, merged ->
    environment overrides, each value checked (WORKSPACE_*, RCLONE_REMOTE_NAME,
    RCLONE_BUCKET) -> resolved plan (compiled.py)

Every entry point gets its configuration here and nowhere else: `coltec-validate`,
`invoke validate` (which adds the org policy), `coltec-worker --validate-only`,
`--dry-run`, `--once`, `flush`, and the daemon's start and SIGHUP reload (through
the compile child, compile_cmd.py). Same input, same verdict; a plan exists only
when there is no problem, so a valid spec always starts and an invalid one never runs.
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping

from coltec_worker.declaration import env_rules, operation, rules
from coltec_worker.declaration.compiled import Plan, PlannedPath
from coltec_worker.declaration.named import compile_remotes
from coltec_worker.declaration.notices import notices
from coltec_worker.declaration.resolve import remote_from_env
from coltec_worker.declaration.salvage import salvage
from coltec_worker.declaration.source import Document, load_yaml
from coltec_worker.declaration.spec import UserConfig, WorkspaceSpec
from coltec_worker.declaration.validation import (
    SPEC_SCHEMA,
    ValidationReport,
    check_document,
    default_user_config_path,
    validate_user_file,
)
from coltec_worker.errors import ConfigError, Problem, UnreadableError

ENVIRONMENT = "environment"  # Problem.file of a bad environment variable


def env_problem(finding: rules.Finding) -> Problem:
    return Problem(
        ENVIRONMENT, None, None, finding.path, finding.message, finding.hint, finding.rule
    )


def user_id_for(user: UserConfig | None, env: Mapping[str, str]) -> str:
    """{user_id}: the user config's, else $USER, else "user" — the same everywhere."""
    return (user.user_id if user else "") or env.get("USER", "") or "user"


PathArg = str | os.PathLike[str]


def validate_file(
    config: PathArg,
    user_config: PathArg | None = None,
    *,
    with_user: bool = True,
    env: Mapping[str, str] | None = None,
    home: PathArg | None = None,
) -> ValidationReport:
    """The verdict for one workspace-spec.yaml, and its plan when valid.

    Raises UnreadableError when a file cannot be read at all (exit 2 at the edges).
    """
    try:
        doc = load_yaml(config)
    except UnreadableError:
        raise
    except ConfigError as exc:
        return ValidationReport(os.fspath(config), exc.problems)
    return compile_document(doc, user_config, with_user=with_user, env=env, home=home)


def compile_document(
    doc: Document,
    user_config: PathArg | None = None,
    *,
    with_user: bool = True,
    env: Mapping[str, str] | None = None,
    home: PathArg | None = None,
) -> ValidationReport:
    """validate_file from the reader's output on: schema, rules, user, environment, plan."""
    env = os.environ if env is None else env
    home = os.path.expanduser("~") if home is None else os.fspath(home)
    report = ValidationReport(doc.file)
    report.problems = check_document(doc, SPEC_SCHEMA)
    # the rules run too on what the schema did not refuse: all problems at once
    salvaged = salvage(doc.data, report.problems)
    spec: WorkspaceSpec | None = salvaged.spec
    user: UserConfig | None = None
    user_doc: Document | None = None
    user_path = None if user_config is None else os.fspath(user_config)
    if user_path is None and with_user:
        user_path = default_user_config_path(env, home)
    if user_path is not None:
        user, user_problems, user_doc = validate_user_file(user_path)
        report.problems += user_problems
    env_findings = list(env_rules.check_environment(env))
    report.problems += [env_problem(f) for f in env_findings]
    if spec is None:
        return _sorted(report)
    identity_ok = not any(f.path.startswith("WORKSPACE_") for f in env_findings)
    if identity_ok:
        spec = spec.with_identity(env)
    user_id = user_id_for(user, env)
    reported = {p.path for p in report.problems}
    findings = [salvaged.in_file(f) for f in rules.check_spec(spec, user_id, volumes_at(doc.data))]
    findings += both_volume_keys(doc.data)
    report.problems += [
        doc.problem(f.path, f.message, f.hint, f.rule)
        for f in findings
        if f.path not in reported and not salvaged.already_said(f.path)
    ]
    if user and user_doc and user.extra_sync_paths:
        values = spec.placeholder_values(user_id)
        taken = [
            (
                f"{doc.file}::{salvaged.file_path(f'$.persistence.sync[{i}]')}",
                s,
                rules.resolve_checked(s, values)[0],
            )
            for i, s in enumerate(spec.persistence.sync)
        ]
        for f in rules.check_sync_paths(
            user.extra_sync_paths, "$.extra_sync_paths", values, taken, resolve=real_folder
        ):
            report.problems.append(user_doc.problem(f.path, f.message, f.hint, f.rule))
        spec = spec.with_extra_paths(user.extra_sync_paths)
    _sorted(report)
    if report.ok:
        report.spec = spec
        report.plan = build_plan(spec, user_id, env, home, doc.file, user_path)
    return report


def real_folder(path: str) -> str:
    """The folder `path` really is, as this machine sees it: a user's extra path may be a
    symlink, or /proc/self/root/..., that names '/' or a workspace path by another name."""
    try:
        return posixpath.normpath(os.path.realpath(path))
    except (OSError, ValueError):
        return path


def volumes_at(data: object) -> str:
    """Where the file keeps its environment volumes: the predecessor's
    multi_scope_volumes.environment, or the Python era's `volumes` (a mapping, or the
    plain list itself)."""
    pers = data.get("persistence") if isinstance(data, dict) else None
    if isinstance(pers, dict) and pers.get("multi_scope_volumes") is None:
        old = pers.get("volumes")
        if isinstance(old, list):
            return "$.persistence.volumes"
        if isinstance(old, dict):
            return "$.persistence.volumes.environment"
    return rules.VOLUMES


def persistence_keys(data: object) -> frozenset[str]:
    pers = data.get("persistence") if isinstance(data, dict) else None
    return (
        frozenset(k for k, v in pers.items() if v is not None)
        if isinstance(pers, dict)
        else frozenset()
    )


def both_volume_keys(data: object) -> list[rules.Finding]:
    """`volumes` is multi_scope_volumes' old name: both at once would hide one."""
    pers = data.get("persistence") if isinstance(data, dict) else None
    if not isinstance(pers, dict) or None in (pers.get("volumes"), pers.get("multi_scope_volumes")):
        return []
    return [
        rules.Finding(
            "$.persistence.volumes",
            "volumes is the old name of multi_scope_volumes, and both are given",
            "move these volumes under multi_scope_volumes and remove volumes",
            "volumes-alias",
        )
    ]


def _sorted(report: ValidationReport) -> ValidationReport:
    report.problems.sort(
        key=lambda p: (
            p.file == ENVIRONMENT,
            p.file != report.file,
            p.file,
            p.line or 0,
            p.col or 0,
        )
    )
    return report


def build_plan(
    spec: WorkspaceSpec,
    user_id: str,
    env: Mapping[str, str],
    home: str,
    config: str,
    user_config: str | None,
) -> Plan:
    """The resolved plan of a spec that passed every check."""
    remote = remote_from_env(spec, env, home)
    values = spec.placeholder_values(user_id)
    pers = spec.persistence
    paths = []
    # multi_scope_volumes.environment syncs like persistence.sync (the predecessor's daemon)
    for sync in (*pers.sync, *pers.volume_paths()):
        resolved, message, _ = rules.resolve_checked(sync, values)
        if resolved is None:  # pragma: no cover - the rules above reported it
            raise ConfigError(f"sync path '{sync.name}': {message}")
        settings = operation.effective(pers.defaults, sync)
        paths.append(
            PlannedPath(
                name=sync.name,
                local=sync.path,
                remote_path=resolved,
                direction=sync.direction,
                interval=sync.interval,
                priority=sync.priority,
                exclude=sync.exclude,
                remote=(sync.remote or pers.default_remote) if pers.remotes else None,
                transfers=settings.transfers,
                checkers=settings.checkers,
                bwlimit=settings.bwlimit,
            )
        )
    net = spec.networking
    return Plan(
        config=os.path.abspath(config),
        remote=remote,
        paths=tuple(paths),
        persistence_enabled=spec.persistence.enabled,
        user_config=None if user_config is None else os.path.abspath(user_config),
        user_id=user_id,
        networking_enabled=net.enabled,
        hostname=net.hostname_prefix + spec.name,
        tags=net.tags,
        workspace=spec.name,
        notices=tuple(notices(spec)),
        remotes=compile_remotes(pers.remotes, [p.remote for p in paths if p.remote]),
    )


def compile_here(config: PathArg, env: Mapping[str, str], home: str) -> Plan:
    """The plan of `config` in this process (--once, --dry-run). ConfigError if invalid."""
    report = validate_file(config, env=env, home=home)
    if report.plan is None:
        first = report.problems[0]
        raise ConfigError(first.format().split("\n", 1)[0], report.problems, hint=first.hint)
    return report.plan
