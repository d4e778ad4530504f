"""Policy enforcement for one workspace: defaults applied, rules checked, exceptions honoured.

A violation is a Problem located in the workspace (spec or devcontainer.json) whose
message names the rule, the policy file:line that sets it and the workspace value.
Exceptions live in the workspace's .copier-answers.yml:

    policy_exceptions:
      - rule: interval-bounds
        reason: "sensor capture needs 10 s"
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coltec_worker.errors import ConfigError, Problem
from coltec_worker.source import Document, load_yaml
from coltec_worker.spec import WorkspaceSpec, spec_from_dict

from . import images, runargs
from .policy import RULES, Policy, PolicyStore, Setting, display
from .workspaces import ANSWERS_FILE

EXCEPTIONS_KEY = "policy_exceptions"


@dataclass(frozen=True)
class Exemption:
    rule: str
    reason: str
    where: str
    waived: int = 0


@dataclass
class Verdict:
    """The policy verdict for one spec file."""

    file: str
    org: str = ""
    problems: list[Problem] = field(default_factory=list)
    exemptions: list[Exemption] = field(default_factory=list)
    defaults: dict[str, Setting] = field(default_factory=dict)  # json path -> policy default
    spec: WorkspaceSpec | None = None
    policy: Policy | None = None
    doc: Document | None = None


# -- layering -------------------------------------------------------------------------


def policy_defaults(data: Any, policy: Policy) -> dict[str, Setting]:
    """For each field of this spec that a policy layer has a default for: that default.

    Defaults reach a workspace when cs:new writes them into its spec (the worker reads
    only the spec). Rules are checked on the spec as the worker runs it, so a default
    that was never written cannot hide a violation.
    """
    out: dict[str, Setting] = {}

    def put(path: str, dotted: str) -> None:
        setting = policy.setting(dotted)
        if setting.layer != "built-in":
            out[path] = setting

    root: dict[str, Any] = data if isinstance(data, dict) else {}
    pers: Any = root.get("persistence")
    items = pers.get("sync") if isinstance(pers, dict) else None
    put("$.persistence.enabled", "defaults.persistence_enabled")
    put("$.persistence.rclone_config.remote_name", "defaults.remote_name")
    options = policy.setting("defaults.remote_options")
    if options.layer != "built-in" and isinstance(options.value, dict):
        for key, value in options.value.items():
            path = f"$.persistence.rclone_config.options.{key}"
            out[path] = Setting(value, options.layer, options.where)
    for i in range(len(items) if isinstance(items, list) else 0):
        for key in ("direction", "interval", "exclude"):
            put(f"$.persistence.sync[{i}].{key}", f"defaults.sync.{key}")
    put("$.networking.enabled", "defaults.networking_enabled")
    put("$.networking.hostname_prefix", "defaults.hostname_prefix")
    put("$.networking.tags", "defaults.network_tags")
    return out


# -- exceptions -----------------------------------------------------------------------


def load_exceptions(answers: Path) -> tuple[list[Exemption], list[Problem]]:
    if not answers.is_file():
        return [], []
    try:
        doc = load_yaml(answers)
    except ConfigError as exc:
        return [], exc.problems
    items = doc.data.get(EXCEPTIONS_KEY) if isinstance(doc.data, dict) else None
    if items is None:
        return [], []
    base = f"$.{EXCEPTIONS_KEY}"
    if not isinstance(items, list):
        return [], [
            doc.problem(
                base,
                "expected a list of {rule, reason}",
                f"write {EXCEPTIONS_KEY}: [{{rule: interval-bounds, reason: why}}}}]",
                "policy-exception",
            )
        ]
    found: list[Exemption] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        here = f"{base}[{i}]"
        rule = item.get("rule") if isinstance(item, dict) else None
        reason = item.get("reason") if isinstance(item, dict) else None
        if rule not in RULES:
            problems.append(
                doc.problem(
                    f"{here}.rule",
                    f"unknown policy rule {rule!r}",
                    f"rules: {', '.join(RULES)}",
                    "policy-exception",
                )
            )
        elif not isinstance(reason, str) or not reason.strip():
            problems.append(
                doc.problem(
                    f"{here}.reason",
                    f"the exception to '{rule}' has no reason",
                    "add reason: <why this workspace needs it>",
                    "policy-exception",
                )
            )
        else:
            pos = doc.position(here)
            where = f"{display(answers)}:{pos[0]}" if pos else display(answers)
            found.append(Exemption(rule, reason.strip(), where))
    return found, problems


# -- rules ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Violation:
    rule: str
    path: str
    message: str
    setting: Setting
    hint: str
    file: str = ""  # a file other than the spec (devcontainer.json)
    line: int | None = None


def _image_violations(policy: Policy, devcontainer: Path) -> list[_Violation]:
    """Rule base-image, on the image the engine will run (see coltec.images)."""
    resolved = images.resolve(devcontainer)
    allowed = policy.setting("rules.allowed_base_images")
    if resolved is None or "*" in allowed.value:
        return []
    where = (display(resolved.file), resolved.line)
    if resolved.image is None:
        return [
            _Violation(
                "base-image",
                "$.image",
                f"the base image ({resolved.via}) cannot be determined: {resolved.reason}",
                allowed,
                f"name an image matching: {', '.join(allowed.value)}",
                *where,
            )
        ]
    if any(fnmatch.fnmatchcase(resolved.image, p) for p in allowed.value):
        return []
    return [
        _Violation(
            "base-image",
            "$.image",
            f"base image '{resolved.image}' ({resolved.via}) is not allowed",
            allowed,
            f"use an image matching: {', '.join(allowed.value)}",
            *where,
        )
    ]


def _run_arg_violations(policy: Policy, devcontainer: Path) -> list[_Violation]:
    """Rule run-args: docker run options (in every spelling) matching a denied pattern."""
    denied = policy.items("rules.denied_run_args")  # additive: an org adds to the default's
    out: list[_Violation] = []
    for option in runargs.run_options(devcontainer):
        match = next((s for s in denied if fnmatch.fnmatchcase(option.token, s.value)), None)
        if match is not None:
            out.append(
                _Violation(
                    "run-args",
                    "$.runArgs",
                    f"'{option.given}' ({option.token}) matches denied run argument "
                    f"'{match.value}'",
                    match,
                    "remove it from devcontainer.json (runArgs, mounts, privileged, capAdd) "
                    "or the compose service",
                    display(option.file),
                    option.line,
                )
            )
    return out


def _rule_violations(spec: WorkspaceSpec, policy: Policy, devcontainer: Path) -> list[_Violation]:
    out: list[_Violation] = []
    required = policy.items("rules.required_excludes")
    lo, hi = policy.setting("rules.interval.min"), policy.setting("rules.interval.max")
    dirs = policy.setting("rules.allowed_directions")
    for i, sync in enumerate(spec.persistence.sync):
        here = f"$.persistence.sync[{i}]"
        for req in required:
            if req.value not in sync.exclude:
                out.append(
                    _Violation(
                        "required-excludes",
                        f"{here}.exclude",
                        f"sync path '{sync.name}' does not exclude "
                        f"'{req.value}' (excludes: {list(sync.exclude)})",
                        req,
                        f"add '{req.value}' to its exclude list",
                    )
                )
        if sync.interval < lo.value:
            out.append(
                _Violation(
                    "interval-bounds",
                    f"{here}.interval",
                    f"interval {sync.interval}s is below the org minimum {lo.value}s",
                    lo,
                    f"use at least {lo.value}",
                )
            )
        if sync.interval > hi.value:
            out.append(
                _Violation(
                    "interval-bounds",
                    f"{here}.interval",
                    f"interval {sync.interval}s is above the org maximum {hi.value}s",
                    hi,
                    f"use at most {hi.value}",
                )
            )
        if sync.direction not in dirs.value:
            out.append(
                _Violation(
                    "sync-directions",
                    f"{here}.direction",
                    f"direction '{sync.direction}' is not allowed",
                    dirs,
                    f"use one of: {', '.join(dirs.value)}",
                )
            )
    if spec.networking.enabled:
        for req in policy.items("rules.required_network_tags"):
            if req.value not in spec.networking.tags:
                out.append(
                    _Violation(
                        "network-tags",
                        "$.networking.tags",
                        f"networking is enabled but tag '{req.value}' is not "
                        f"advertised (tags: {list(spec.networking.tags)})",
                        req,
                        f"add '{req.value}' to networking.tags",
                    )
                )
    out += _image_violations(policy, devcontainer)
    out += _run_arg_violations(policy, devcontainer)
    return out


def check_spec_file(spec_file: Path, store: PolicyStore | None = None) -> Verdict:
    """Apply the org's policy to one workspace-spec.yaml (PolicyError if a policy is bad)."""
    verdict = Verdict(str(spec_file))
    try:
        doc = load_yaml(spec_file)
        spec = spec_from_dict(doc.data)
    except ConfigError:
        return verdict  # schema validation reports why; policy needs a usable spec
    store = store or PolicyStore()
    verdict.org, verdict.doc = spec.metadata.org, doc
    verdict.policy = policy = store.for_org(spec.metadata.org)
    verdict.spec = spec
    verdict.defaults = policy_defaults(doc.data, policy)
    ws_dir = spec_file.resolve().parent.parent
    exemptions, verdict.problems = load_exceptions(ws_dir / ANSWERS_FILE)
    waived: dict[str, int] = {}
    by_rule = {e.rule for e in exemptions}
    for v in _rule_violations(spec, policy, spec_file.parent / "devcontainer.json"):
        if v.rule in by_rule:
            waived[v.rule] = waived.get(v.rule, 0) + 1
            continue
        message = f"policy rule '{v.rule}' ({v.setting.where}): {v.message}"
        hint = (
            f"{v.hint}; or, if this workspace must differ, record an exception in "
            f"{ANSWERS_FILE}: {EXCEPTIONS_KEY}: [{{rule: {v.rule}, reason: ...}}]"
        )
        if v.file:
            verdict.problems.append(
                Problem(
                    v.file, v.line, 1 if v.line else None, v.path, message, hint, f"policy:{v.rule}"
                )
            )
        else:
            verdict.problems.append(doc.problem(v.path, message, hint, f"policy:{v.rule}"))
    verdict.exemptions = [
        Exemption(e.rule, e.reason, e.where, waived.get(e.rule, 0)) for e in exemptions
    ]
    return verdict
