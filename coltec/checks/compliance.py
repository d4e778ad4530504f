"""Policy enforcement for one workspace: defaults applied, rules checked, exceptions honoured.

A violation is a Problem located in the workspace (spec or devcontainer.json) whose
message names the rule, the policy file:line that sets it and the workspace value.
Exceptions live in the workspace's .copier-answers.yml:

    policy_exceptions:
      - rule: interval-bounds
        reason: "sensor capture needs 10 s"

or, for every workspace of an org rendered from a template extension, in the org's
policy file (`exceptions: [{rule, extensions: [NAME], reason}]`, see org_exemptions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coltec_worker.declaration.source import Document, load_yaml
from coltec_worker.declaration.spec import WorkspaceSpec, spec_from_dict
from coltec_worker.errors import ConfigError, Problem

from coltec.checks.policy import RULES, Policy, PolicyStore, Setting, display
from coltec.checks.policy_rules import violations
from coltec.workspaces import ANSWERS_FILE

EXCEPTIONS_KEY = "policy_exceptions"


@dataclass(frozen=True)
class Exemption:
    rule: str
    reason: str
    where: str
    waived: int = 0


@dataclass
class PolicyVerdict:
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


class _Unread:
    """The answers file was not read yet (its callers read it themselves)."""


UNREAD = _Unread()
Answers = Document | ConfigError | None  # parsed, unreadable, or no answers file


def _answers_doc(answers: Path) -> Answers:
    """The answers file parsed (None: there is none; its ConfigError: unreadable)."""
    if not answers.is_file():
        return None
    try:
        return load_yaml(answers)
    except ConfigError as exc:
        return exc


def load_exceptions(
    answers: Path,
    rules: tuple[str, ...] | list[str] = RULES,
    parsed: Answers | _Unread = UNREAD,
) -> tuple[list[Exemption], list[Problem]]:
    """The workspace's own `policy_exceptions` (`parsed`: the answers file, if read)."""
    doc = _answers_doc(answers) if isinstance(parsed, _Unread) else parsed
    if doc is None:
        return [], []
    if isinstance(doc, ConfigError):
        return [], doc.problems
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
        if rule not in rules:
            problems.append(
                doc.problem(
                    f"{here}.rule",
                    f"unknown policy rule {rule!r}",
                    f"rules: {', '.join(rules)}",
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
            found.append(Exemption(str(rule), reason.strip(), where))
    return found, problems


def org_exemptions(
    policy: Policy, answers: Path, parsed: Answers | _Unread = UNREAD
) -> tuple[list[Exemption], list[Problem]]:
    """The policy's `exceptions` that cover this workspace's template extension."""
    doc = _answers_doc(answers) if isinstance(parsed, _Unread) else parsed
    # (an unreadable answers file is load_exceptions' to report)
    data = doc.data if isinstance(doc, Document) else None
    value = data.get("extension") if isinstance(data, dict) else None
    extension = value if isinstance(value, str) else ""
    found: list[Exemption] = []
    problems: list[Problem] = []
    known = policy.rule_names()
    for item in policy.items("exceptions"):
        rule, covers = item.value.get("rule"), item.value.get("extensions", [])
        if rule not in known:
            file, _, line = item.where.rpartition(":")
            problems.append(
                Problem(
                    file or item.where,
                    int(line) if line.isdigit() else None,
                    None,
                    "$.exceptions",
                    f"unknown policy rule {rule!r}",
                    f"rules: {', '.join(known)}",
                    "policy-exception",
                )
            )
        elif extension and extension in covers:
            found.append(Exemption(rule, f"{item.value['reason']} ({item.layer})", item.where))
    return found, problems


# -- rules ----------------------------------------------------------------------------


def check_policy(
    spec_file: Path, store: PolicyStore | None = None, doc: Document | None = None
) -> PolicyVerdict:
    """Apply the org's policy to one workspace-spec.yaml (PolicyError if a policy is bad).

    `doc`: the spec file as already parsed by the caller (validation), not read again.
    """
    verdict = PolicyVerdict(str(spec_file))
    try:
        doc = doc or load_yaml(spec_file)
        spec = spec_from_dict(doc.data)
    except ConfigError:
        return verdict  # schema validation reports why; policy needs a usable spec
    store = store or PolicyStore()
    verdict.org, verdict.doc = spec.metadata.org, doc
    verdict.policy = policy = store.for_org(spec.metadata.org)
    verdict.spec = spec
    verdict.defaults = policy_defaults(doc.data, policy)
    ws_dir = spec_file.resolve().parent.parent
    answers = ws_dir / ANSWERS_FILE
    parsed = _answers_doc(answers)  # read once for both kinds of exception
    exemptions, verdict.problems = load_exceptions(answers, policy.rule_names(), parsed)
    by_org, bad = org_exemptions(policy, answers, parsed)
    exemptions, verdict.problems = [*exemptions, *by_org], [*verdict.problems, *bad]
    waived: dict[str, int] = {}
    by_rule = {e.rule for e in exemptions}
    for v in violations(spec, policy, spec_file.parent / "devcontainer.json"):
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
