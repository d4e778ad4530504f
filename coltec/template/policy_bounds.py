"""The org's bounds on cs:new's answers, for copier's prompts, and the check before writing.

Two halves, one policy reader (coltec.checks.policy):

- `prompt_bounds` turns the org's rules that bound a single answer (interval-bounds on
  sync_interval, base-image on base_image, network-tags on network_tags) into the
  private copier value `_policy_bounds`. copier.yaml's `help:` shows them and its
  `validator:` enforces them, so copier re-asks a prompt and refuses a `--data` value
  outside them. A rule the workspace is excepted from bounds nothing. Required excludes
  are shown only: the template's own excludes (per project type, per sync path of an
  extension) may hold them, so only the check on the render can judge them.
- `refusals` runs cs:validate's own policy check on a render in a scratch folder: what it
  refuses is refused before anything is written to the nexus, so the verdict before
  writing and the one after are the same check on the same files.
"""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coltec_worker.errors import Problem

from coltec.checks.policy import Policy, load_policy
from coltec.checks.run import validate_files
from coltec.errors import UsageError

CONTEXT_KEY = "_policy_bounds"  # private to copier: never recorded in .copier-answers.yml


def exempted_rules(policy: Policy, data: Mapping[str, Any], extension: str) -> set[str]:
    """Rules this new workspace is excepted from: its own policy_exceptions answer, and the
    org file's `exceptions` for its template extension (see coltec.checks.compliance)."""
    rules: set[str] = set()
    given = data.get("policy_exceptions")
    for item in given if isinstance(given, list) else []:
        if isinstance(item, dict) and isinstance(item.get("rule"), str):
            rules.add(item["rule"])
    for item in policy.items("exceptions"):
        if extension and extension in (item.value.get("extensions") or []):
            rules.add(str(item.value.get("rule")))
    return rules


def prompt_bounds(
    org: str, data: Mapping[str, Any], extension: str = "", root: Path | None = None
) -> dict[str, Any]:
    """`_policy_bounds` for copier.yaml: per question, the bound, its policy file:line, and
    a ready-made sentence for the prompt's help."""
    policy = load_policy(org, root)
    exempt = exempted_rules(policy, data, extension)
    out: dict[str, Any] = {"org": org}
    if "interval-bounds" not in exempt:
        lo, hi = policy.setting("rules.interval.min"), policy.setting("rules.interval.max")
        out["sync_interval"] = {
            "min": lo.value,
            "max": hi.value,
            "min_where": lo.where,
            "max_where": hi.where,
            "text": f"org {org}: {lo.value} to {hi.value} s, {_lines(lo.where, hi.where)}",
        }
    images = policy.setting("rules.allowed_base_images")
    if "base-image" not in exempt and "*" not in images.value:
        patterns = [str(p) for p in images.value]
        out["base_image"] = {
            "patterns": patterns,
            # fnmatch's own translation, anchored at the start too (regex_search searches):
            # the same matching as rule base-image's fnmatchcase.
            "regexes": [r"\A" + fnmatch.translate(p) for p in patterns],
            "where": images.where,
            "text": f"org {org} allows: {', '.join(patterns)}; {images.where}",
        }
    excludes = policy.items("rules.required_excludes")
    if "required-excludes" not in exempt and excludes:
        required = [str(s.value) for s in excludes]
        out["extra_excludes"] = {
            "required": required,
            "text": f"org {org} requires: {', '.join(required)}; "
            f"{_lines(*(s.where for s in excludes))}",
        }
    tags = policy.items("rules.required_network_tags")
    if "network-tags" not in exempt and tags:
        required = [str(s.value) for s in tags]
        out["network_tags"] = {
            "required": required,
            "where": _lines(*(s.where for s in tags)),
            "text": f"org {org} requires: {', '.join(required)}; "
            f"{_lines(*(s.where for s in tags))}",
        }
    return out


def _lines(*wheres: str) -> str:
    """'policy/orgs/acme.yaml:14', 'policy/orgs/acme.yaml:15' -> 'policy/orgs/acme.yaml:14-15'."""
    files: dict[str, list[str]] = {}
    for where in wheres:
        file, sep, line = where.rpartition(":")
        if sep and line.isdigit():
            files.setdefault(file, []).append(line)
        else:
            files.setdefault(where, [])
    parts = []
    for file, lines in files.items():
        unique = list(dict.fromkeys(lines))
        parts.append(f"{file}:{','.join(unique)}" if unique else file)
    return "; ".join(parts)


def refusals(spec_file: Path) -> list[Problem]:
    """The policy problems cs:validate finds in a rendered spec (and its devcontainer.json)."""
    run = validate_files([spec_file])
    return [
        p
        for report in run.reports
        for p in report.problems
        if p.rule.startswith("policy:") or p.rule == "policy-exception"
    ]


# Where in the render an answer lands: named in the refusal, so `--data KEY` is easy to fix.
ANSWER_AT = (
    ("$.persistence.sync[0].interval", "sync_interval"),
    ("$.persistence.sync[0].exclude", "extra_excludes"),
    ("$.networking.tags", "network_tags"),
    ("$.image", "base_image"),
    ("$.runArgs", "run_args"),
    ("$.mounts", "mounts"),
    ("$.features", "features"),
    ("$.initializeCommand", "lifecycle_commands"),
    ("$.policy_exceptions", "policy_exceptions"),
)


def refuse(key: str, problems: list[Problem], scratch: Path) -> UsageError:
    """One error line for the first problem (and how many more), as a usage error."""
    first = problems[0]
    file = Path(first.file)
    with contextlib.suppress(ValueError):
        file = file.resolve().relative_to(scratch.resolve())
    at = f"{file}:{first.line}" if first.line else str(file)
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    answer = next(
        (f"answer {q}, " for at_path, q in ANSWER_AT if first.path.startswith(at_path)), ""
    )
    return UsageError(
        f"{key}: nothing created: {answer}{at} {first.path}: {first.message}{more}",
        first.hint,
    )
