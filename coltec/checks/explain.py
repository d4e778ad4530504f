"""`validate --explain`: every effective value of a workspace and the layer that set it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from coltec_worker.declaration.spec import as_data

from coltec.checks.compliance import PolicyVerdict, check_policy
from coltec.checks.policy import PolicyStore, display


@dataclass(frozen=True)
class EffectiveValue:
    field: str
    value: Any
    layer: str  # workspace | org <org> | default | schema default | exception
    where: str  # file:line, or "" for schema defaults
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _leaves(value: Any, path: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        return [leaf for k, v in value.items() for leaf in _leaves(v, f"{path}.{k}")]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, dict) for v in value):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, f"{path}[{i}]")]
    if isinstance(value, tuple):
        value = list(value)
    return [(path, value)]


def _same(a: Any, b: Any) -> bool:
    return (list(a) if isinstance(a, tuple) else a) == (list(b) if isinstance(b, tuple) else b)


def _spec_rows(verdict: PolicyVerdict) -> list[EffectiveValue]:
    doc, spec = verdict.doc, verdict.spec
    if doc is None or spec is None:
        return []
    rows: list[EffectiveValue] = []
    for path, value in _leaves(as_data(spec), "$"):
        field = path.removeprefix("$.")
        default = verdict.defaults.get(path)
        if path in doc.values or path in doc.keys:
            pos = doc.position(path)
            here = f"{display(doc.file)}:{pos[0]}" if pos else display(doc.file)
            if default is not None and _same(default.value, value):
                rows.append(
                    EffectiveValue(
                        field,
                        value,
                        default.layer,
                        default.where,
                        f"same value written in the spec, line {here.rsplit(':', 1)[-1]}",
                    )
                )
            else:
                rows.append(EffectiveValue(field, value, "workspace", here))
        elif default is not None and not _same(default.value, value):
            rows.append(
                EffectiveValue(
                    field,
                    value,
                    "schema default",
                    "",
                    f"{default.layer} default {default.value!r} ({default.where}) is "
                    "not in this spec; cs:new writes defaults into new workspaces",
                )
            )
        else:
            rows.append(EffectiveValue(field, value, "schema default", ""))
    return rows


def _policy_rows(verdict: PolicyVerdict) -> list[EffectiveValue]:
    policy = verdict.policy
    if policy is None:
        return []
    rows: list[EffectiveValue] = []
    for dotted in (
        "rules.interval.min",
        "rules.interval.max",
        "rules.allowed_directions",
        "rules.allowed_base_images",
    ):
        s = policy.setting(dotted)
        rows.append(
            EffectiveValue(
                f"policy.{dotted}",
                s.value,
                s.layer if s.layer != "built-in" else "schema default",
                s.where if s.layer != "built-in" else "",
            )
        )
    for dotted in ("rules.required_excludes", "rules.required_network_tags", "tools"):
        rows += [
            EffectiveValue(f"policy.{dotted}[]", s.value, s.layer, s.where)
            for s in policy.items(dotted)
        ]
    rows += [
        EffectiveValue(f"policy.env.{k}", s.value, s.layer, s.where)
        for k, s in policy.env().items()
    ]
    for e in verdict.exemptions:
        rows.append(
            EffectiveValue(
                f"exception.{e.rule}",
                e.reason,
                "exception",
                e.where,
                f"waives {e.waived} violation(s)",
            )
        )
    return rows


def explain(spec_file: Path, store: PolicyStore | None = None) -> list[EffectiveValue]:
    """Rows for the effective spec, then for the org policy that applies to it."""
    verdict = check_policy(spec_file, store)
    return _spec_rows(verdict) + _policy_rows(verdict)


def explain_files(files: list[Path]) -> dict[str, list[EffectiveValue]]:
    """`validate --explain`: each file's effective values, one policy store for all."""
    store = PolicyStore()
    return {str(f): explain(f, store) for f in files}
