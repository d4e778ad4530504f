"""Template extensions: `extensions/<name>/` of the template source (see extensions/README.md).

An extension is a copier subdirectory of its own (`extensions/<name>/template/`, picked
by copier.yaml's `_subdirectory` from the recorded `extension` answer, so every update
renders from it again) and an `extension.yaml`: a description, the image SKU it runs on
(`sku`, a `cs:image --sku` name) and the answers it sets, which `cs:new` applies as
defaults (`--data` still wins).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coltec_worker.declaration.source import load_yaml
from coltec_worker.errors import ConfigError

from coltec.errors import UsageError
from coltec.skus import SKUS, sku_tag

EXTENSIONS_DIR = "extensions"
MANIFEST = "extension.yaml"
ANSWER = "extension"  # the copier question that records it
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


@dataclass(frozen=True)
class Extension:
    name: str
    description: str
    sku: str = ""
    answers: Mapping[str, Any] = field(default_factory=dict)

    def defaults(self) -> dict[str, Any]:
        """The answers cs:new gives copier as defaults: the manifest's, and the SKU's image."""
        out = dict(self.answers)
        if self.sku and "base_image" not in out:
            out["base_image"] = sku_tag(self.sku)
        return {ANSWER: self.name, **out}


def available(template_root: Path) -> list[str]:
    folder = template_root / EXTENSIONS_DIR
    if not folder.is_dir():
        return []
    return sorted(p.parent.name for p in folder.glob(f"*/{MANIFEST}") if p.is_file())


def load_extension(
    template_root: Path | None, name: str, questions: Mapping[str, Any] | None
) -> Extension:
    """The extension `name` of a local template source; UsageError naming the fix."""
    if template_root is None:
        raise UsageError(
            f"--template {name}: the template source is not a local checkout",
            "extensions are read from the nexus's extensions/ folder; unset COLTEC_TEMPLATE",
        )
    names = available(template_root)
    choices = ", ".join(names) or "none in this template"
    if not _NAME.match(name) or name not in names:
        raise UsageError(
            f"--template {name}: no such extension (no {EXTENSIONS_DIR}/{name}/{MANIFEST})",
            f"extensions: {choices}",
        )
    path = template_root / EXTENSIONS_DIR / name / MANIFEST
    try:
        doc = load_yaml(path)
    except ConfigError as exc:
        raise UsageError(f"{path}: {exc.message}", exc.hint) from None
    data = doc.data if isinstance(doc.data, dict) else {}

    def bad(where: str, what: str, hint: str) -> UsageError:
        pos = doc.position(where)
        return UsageError(f"{path}{f':{pos[0]}' if pos else ''}: {where}: {what}", hint)

    unknown = sorted(set(data) - {"description", "sku", "answers"})
    if not isinstance(doc.data, dict) or unknown:
        raise bad(
            f"$.{unknown[0]}" if unknown else "$",
            "unknown key" if unknown else "not a mapping",
            "an extension.yaml has description, sku and answers",
        )
    description, sku, answers = (
        data.get("description", ""),
        data.get("sku", ""),
        data.get("answers", {}),
    )
    if not isinstance(description, str):
        raise bad("$.description", "not a string", 'write description: "one line"')
    if sku and sku not in SKUS:
        raise bad("$.sku", f"unknown image SKU {sku!r}", f"SKUs: {', '.join(SKUS)}")
    if not isinstance(answers, dict):
        raise bad("$.answers", "not a mapping", "write answers: {QUESTION: value}")
    for key in answers:
        if key == ANSWER or (questions is not None and key not in questions):
            raise bad(
                f"$.answers.{key}",
                "not a question of the template's copier.yaml",
                "use the names of copier.yaml's questions (e.g. networking_enabled)",
            )
    return Extension(name, description, str(sku or ""), answers)
