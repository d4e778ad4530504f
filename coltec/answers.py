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

from .errors import UsageError


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
