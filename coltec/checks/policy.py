"""Org policy: layers default -> org -> workspace, each setting traced to the file and line.

`policy/default.yaml` applies to every org, `policy/orgs/<org>.yaml` refines it
(COLTEC_POLICY_DIR moves the folder). An org file replaces each setting it names,
except the additive ones (required excludes and network tags, denied run args, tools, env), which
add to the default layer's. The workspace is the last layer: it may override any
default, and break a rule only with a recorded exception (see coltec.checks.compliance).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from coltec_worker.declaration.source import Document, load_yaml
from coltec_worker.declaration.validation import schema_problems
from coltec_worker.errors import ConfigError, Problem

from coltec.errors import PolicyError
from coltec.workspaces import REPO_ROOT

SCHEMA_FILE = REPO_ROOT / "schema" / "org-policy.schema.json"
DEFAULT_FILE = "default.yaml"
SPEC_RULES = (
    "required-excludes",
    "interval-bounds",
    "sync-directions",
    "network-tags",
    "base-image",
    "run-args",
    "host-commands",
    "features",
)
# Settings whose lists/maps accumulate across layers instead of being replaced.
ADDITIVE = (
    "rules.required_excludes",
    "rules.required_network_tags",
    "rules.denied_run_args",
    "exceptions",
    "tools",
    "env",
)


def policy_dir() -> Path:
    """COLTEC_POLICY_DIR, else policy/ in this repository."""
    return Path(os.environ.get("COLTEC_POLICY_DIR") or REPO_ROOT / "policy")


def display(path: Path | str) -> str:
    """A path as users should read it: relative to the repository when inside it."""
    text = os.fspath(path)
    return _display(text, "" if os.path.isabs(text) else os.getcwd())


@lru_cache(maxsize=4096)
def _display(text: str, cwd: str) -> str:
    # Every located setting names its file: thousands of calls in a run over a nexus,
    # for a handful of files, each a realpath() on its own (~0.2 ms).
    try:
        return str(Path(cwd, text).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(Path(text))


@dataclass(frozen=True)
class Setting:
    """One effective value and where it came from."""

    value: Any
    layer: str  # "default", "org acme" or "built-in"
    where: str  # "policy/orgs/acme.yaml:12", or "schema default"


@dataclass(frozen=True)
class Layer:
    name: str
    doc: Document

    def lookup(self, dotted: str) -> tuple[bool, Any]:
        node: Any = self.doc.data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                return False, None
            node = node[part]
        return True, node

    def where(self, dotted: str, index: int | str | None = None) -> str:
        path = "$." + dotted
        if isinstance(index, int):
            path += f"[{index}]"
        elif index is not None:
            path += f".{index}"
        pos = self.doc.position(path)
        return f"{display(self.doc.file)}:{pos[0]}" if pos else display(self.doc.file)


@dataclass
class Policy:
    """The effective policy of one org: every layer, most general first."""

    org: str
    layers: list[Layer] = field(default_factory=list)
    _deny: tuple[tuple[int, ...], list[tuple[str, Setting]]] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def files(self) -> list[str]:
        return [display(layer.doc.file) for layer in self.layers]

    def setting(self, dotted: str) -> Setting:
        """The most specific layer's value of `dotted` (e.g. 'rules.interval.min')."""
        for layer in reversed(self.layers):
            found, value = layer.lookup(dotted)
            if found:
                return Setting(value, layer.name, layer.where(dotted))
        return Setting(schema_default(dotted), "built-in", f"built-in: {display(SCHEMA_FILE)}")

    def items(self, dotted: str) -> list[Setting]:
        """An additive list: every layer's items, each with its own line; later tools win."""
        out: list[Setting] = []
        for layer in self.layers:
            found, values = layer.lookup(dotted)
            for i, value in enumerate(values if found and isinstance(values, list) else []):
                if dotted == "tools":
                    out = [s for s in out if tool_name(s.value) != tool_name(value)]
                elif any(s.value == value for s in out):
                    continue
                out.append(Setting(value, layer.name, layer.where(dotted, i)))
        return out

    def env(self) -> dict[str, Setting]:
        out: dict[str, Setting] = {}
        for layer in self.layers:
            found, values = layer.lookup("env")
            for key, value in values.items() if found and isinstance(values, dict) else []:
                out[key] = Setting(value, layer.name, layer.where("env", key))
        return out

    def tools(self) -> list[str]:
        return [s.value for s in self.items("tools")]

    def deny_rules(self) -> list[tuple[str, Setting]]:
        """Each named rule of rules.deny (built-in ones first) with its effective patterns."""
        key = tuple(id(layer) for layer in self.layers)  # asked per workspace: once per org
        if self._deny is None or self._deny[0] != key:
            self._deny = (key, self._deny_rules())
        return list(self._deny[1])

    def _deny_rules(self) -> list[tuple[str, Setting]]:
        names = list(DENY_RULES)
        for layer in self.layers:
            found, table = layer.lookup("rules.deny")
            names += [
                n for n in (table if found and isinstance(table, dict) else {}) if n not in names
            ]
        return [(name, self.setting(f"rules.deny.{name}")) for name in names]

    def rule_names(self) -> list[str]:
        return [*SPEC_RULES, *(name for name, _ in self.deny_rules())]


def tool_name(spec: str) -> str:
    return spec.split("@", 1)[0]


@cache
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


def _deny_names() -> tuple[str, ...]:
    deny = _schema()["properties"]["rules"]["properties"]["deny"]["properties"]
    return tuple(deny)


def schema_default(dotted: str) -> Any:
    node: dict[str, Any] = _schema()
    for part in dotted.split("."):
        node = node.get("properties", {}).get(part, {})
    return node.get("default")


def load_layer(path: Path, name: str) -> Layer:
    """Read and schema-check one policy file; problems name file, line and field.

    The schema check is the worker's, the one every declaration gets (same messages and
    hints); each problem's rule is `policy-schema`.
    """
    try:
        doc = load_yaml(path)
    except ConfigError as exc:
        raise PolicyError(f"{display(path)}: {exc.message}", exc.problems, exc.hint) from None
    if doc.data is None:
        doc.data = {}
    problems = [
        Problem(p.file, p.line, p.col, p.path, p.message, p.hint, "policy-schema")
        for p in schema_problems(doc, SCHEMA_FILE.name)
    ]
    if problems:
        raise PolicyError(
            f"{display(path)}: invalid policy file",
            problems,
            "fix the policy file; its shape is schema/org-policy.schema.json",
        )
    layer = Layer(name, doc)
    problems = _bounds([layer])
    if problems:
        raise PolicyError(f"{display(path)}: invalid policy file", problems, problems[0].hint)
    return layer


def _bounds(layers: list[Layer]) -> list[Problem]:
    """rules.interval min > max, in one file or once layered: refused at the max's line."""
    policy = Policy("", layers)
    lo, hi = policy.setting("rules.interval.min"), policy.setting("rules.interval.max")
    if not isinstance(lo.value, int) or not isinstance(hi.value, int) or lo.value <= hi.value:
        return []
    layer = next((la for la in reversed(layers) if la.lookup("rules.interval.max")[0]), None)
    layer = layer or next(la for la in reversed(layers) if la.lookup("rules.interval.min")[0])
    path = (
        "$.rules.interval.max" if layer.lookup("rules.interval.max")[0] else "$.rules.interval.min"
    )
    pos = layer.doc.position(path)
    return [
        Problem(
            str(layer.doc.file),
            pos[0] if pos else None,
            pos[1] if pos else None,
            path,
            f"rules.interval: min {lo.value} ({lo.where}) is greater than max {hi.value} "
            f"({hi.where}): no interval could pass",
            "make min at most max",
            "policy-schema",
        )
    ]


class PolicyStore:
    """Loads each org's policy once per run (50+ workspaces share a handful of orgs)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root or policy_dir()
        self._cache: dict[str, Policy] = {}

    def org_file(self, org: str) -> Path:
        return self.root / "orgs" / f"{org}.yaml"

    def for_org(self, org: str) -> Policy:
        if org not in self._cache:
            policy = Policy(org)
            default = self.root / DEFAULT_FILE
            if default.is_file():
                policy.layers.append(load_layer(default, "default"))
            org_file = self.org_file(org)
            if org_file.is_file():
                policy.layers.append(load_layer(org_file, f"org {org}"))
            problems = _bounds(policy.layers)
            if problems:
                where = display(problems[0].file)
                raise PolicyError(
                    f"{where}: invalid policy file",
                    problems,
                    "fix the policy file's rules.interval",
                )
            self._cache[org] = policy
        return self._cache[org]


def load_policy(org: str, root: Path | None = None) -> Policy:
    return PolicyStore(root).for_org(org)


DENY_RULES = _deny_names()
RULES = (*SPEC_RULES, *DENY_RULES)  # the built-in rules an exception may name
