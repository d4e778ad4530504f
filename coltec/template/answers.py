"""`--data KEY=VALUE` answers: parsing, checking keys against the template's questions.

Values stay strings (copier casts them by the question's type), except for list
questions: `--data run_args=--network=host --data run_args=--init` builds a list,
and a YAML list (`run_args=["--network=host"]`) is taken as written.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from coltec.checks.policy import Setting, load_policy
from coltec.errors import UsageError
from coltec.workspaces import REPO_ROOT


def load_questions(template_root: Path | None) -> dict[str, dict[str, Any]] | None:
    """Questions of a local template's copier.yaml (name -> settings); None if unreadable."""
    if template_root is None:
        return None
    try:
        data = yaml.safe_load((template_root / "copier.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None
    return {
        k: (v if isinstance(v, dict) else {})
        for k, v in data.items()
        if isinstance(k, str) and not k.startswith("_")
    }


def _is_list_question(settings: Mapping[str, Any]) -> bool:
    return settings.get("type") == "yaml" and isinstance(settings.get("default"), list)


_BOOLS = {"y", "yes", "t", "true", "on", "1", "n", "no", "f", "false", "off", "0"}


def _check_value(key: str, value: Any, settings: Mapping[str, Any]) -> None:
    """A value copier could not cast, or a choice it does not offer: a usage error, here."""
    kind, choices = settings.get("type"), settings.get("choices")
    text = value if isinstance(value, str) else None
    if text is not None and kind == "int":
        try:
            int(text)
        except ValueError:
            raise UsageError(
                f"--data {key}={text!r}: not a whole number", f"e.g. --data {key}=300"
            ) from None
    if text is not None and kind == "bool" and text.strip().lower() not in _BOOLS:
        raise UsageError(f"--data {key}={text!r}: not true or false", f"e.g. --data {key}=false")
    if text is not None and kind in ("yaml", "json"):
        try:
            yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem", None) or "cannot be parsed"
            raise UsageError(
                f"--data {key}={text!r}: not YAML ({mark})",
                f'write a YAML value, e.g. --data {key}=\'["a", "b"]\'',
            ) from None
    if isinstance(choices, dict) and value not in [str(v) for v in choices.values()]:
        options = ", ".join(str(v) for v in choices.values())
        raise UsageError(
            f"--data {key}={value!r}: not one of the choices", f"use one of: {options}"
        )


def parse_data(
    items: Iterable[str], questions: Mapping[str, Mapping[str, Any]] | None
) -> dict[str, Any]:
    """{'key': value} from KEY=VALUE strings; unknown keys are a usage error."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(
                f"--data {item!r} is not KEY=VALUE",
                "write it as --data description='My API' (one --data per answer)",
            )
        if questions is not None and key not in questions:
            close = difflib.get_close_matches(key, list(questions), n=1)
            raise UsageError(
                f"--data {key}: the template asks no question '{key}'",
                f"did you mean '{close[0]}'?" if close else f"questions: {', '.join(questions)}",
            )
        settings = (questions or {}).get(key, {})
        if _is_list_question(settings):
            if value.lstrip().startswith("["):
                _check_value(key, value, {"type": "yaml"})
            parsed = yaml.safe_load(value) if value.lstrip().startswith("[") else value
            previous = out.get(key, [])
            out[key] = [*previous, *(parsed if isinstance(parsed, list) else [parsed])]
        else:
            _check_value(key, value, settings)
            out[key] = value
    return out


def policy_answers(org: str, root: Path | None = None) -> dict[str, Any]:
    """copier --data that makes a new workspace of `org` born compliant.

    Policy defaults (only those a policy layer sets) for the template questions that
    exist, with required excludes and network tags added and the interval kept within
    the org's bounds. Answers the user gives on the command line should win over these.
    """
    policy = load_policy(org, root)
    questions = {k: v.get("default") for k, v in (load_questions(REPO_ROOT) or {}).items()}
    data: dict[str, Any] = {}

    def set_by_policy(dotted: str) -> Setting | None:
        s = policy.setting(dotted)
        return s if s.layer != "built-in" else None

    for question, dotted in (
        ("persistence_enabled", "defaults.persistence_enabled"),
        ("networking_enabled", "defaults.networking_enabled"),
        ("base_image", "defaults.base_image"),
    ):
        if (s := set_by_policy(dotted)) is not None:
            data[question] = s.value
    interval = set_by_policy("defaults.sync.interval")
    value = interval.value if interval else questions.get("sync_interval")
    if isinstance(value, int):
        lo, hi = policy.setting("rules.interval.min"), policy.setting("rules.interval.max")
        clamped = min(max(value, lo.value), hi.value)
        if interval is not None or clamped != value:
            data["sync_interval"] = clamped
    excludes = set_by_policy("defaults.sync.exclude")
    extra = [
        *(excludes.value if excludes else []),
        *(s.value for s in policy.items("rules.required_excludes")),
    ]
    if extra:
        data["extra_excludes"] = list(dict.fromkeys(extra))
    tags_default = set_by_policy("defaults.network_tags")
    required_tags = [s.value for s in policy.items("rules.required_network_tags")]
    if tags_default or required_tags:
        base = tags_default.value if tags_default else questions.get("network_tags") or []
        data["network_tags"] = list(dict.fromkeys([*base, *required_tags]))
    return {k: v for k, v in data.items() if k in questions}
