"""Org policy: layers default -> org -> workspace, each setting traced to the file and line.

`policy/default.yaml` applies to every org, `policy/orgs/<org>.yaml` refines it
(COLTEC_POLICY_DIR moves the folder). An org file replaces each setting it names,
except the additive ones (required excludes and network tags, denied run args, tools, env), which
add to the default layer's. The workspace is the last layer: it may override any
default, and break a rule only with a recorded exception (see coltec.compliance).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from coltec_worker.errors import ConfigError, Problem
from coltec_worker.source import Document, load_yaml

from .workspaces import REPO_ROOT, Workspace

SCHEMA_FILE = REPO_ROOT / "schema" / "org-policy.schema.json"
DEFAULT_FILE = "default.yaml"
RULES = (
    "required-excludes",
    "interval-bounds",
    "sync-directions",
    "network-tags",
    "base-image",
    "run-args",
)
# Settings whose lists/maps accumulate across layers instead of being replaced.
ADDITIVE = (
    "rules.required_excludes",
    "rules.required_network_tags",
    "rules.denied_run_args",
    "tools",
    "env",
)


class PolicyError(ConfigError):
    """A policy file is unreadable or does not match schema/org-policy.schema.json."""


def policy_dir() -> Path:
    """COLTEC_POLICY_DIR, else policy/ in this repository."""
    return Path(os.environ.get("COLTEC_POLICY_DIR") or REPO_ROOT / "policy")


def display(path: Path | str) -> str:
    """A path as users should read it: relative to the repository when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(p)


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

    @property
    def files(self) -> list[str]:
        return [display(layer.doc.file) for layer in self.layers]

    def setting(self, dotted: str) -> Setting:
        """The most specific layer's value of `dotted` (e.g. 'rules.interval.min')."""
        for layer in reversed(self.layers):
            found, value = layer.lookup(dotted)
            if found:
                return Setting(value, layer.name, layer.where(dotted))
        return Setting(schema_default(dotted), "built-in", "schema default")

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


def tool_name(spec: str) -> str:
    return spec.split("@", 1)[0]


@cache
def _schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


def schema_default(dotted: str) -> Any:
    node: dict[str, Any] = _schema()
    for part in dotted.split("."):
        node = node.get("properties", {}).get(part, {})
    return node.get("default")


def _validator() -> Any:
    import jsonschema

    return jsonschema.Draft202012Validator(_schema())


def load_layer(path: Path, name: str) -> Layer:
    """Read and schema-check one policy file; problems name file, line and field."""
    from coltec_worker.validation import _describe

    try:
        doc = load_yaml(path)
    except ConfigError as exc:
        raise PolicyError(f"{display(path)}: {exc.message}", exc.problems, exc.hint) from None
    if doc.data is None:
        doc.data = {}
    problems: list[Problem] = []
    for err in sorted(_validator().iter_errors(doc.data), key=lambda e: list(map(str, e.path))):
        from coltec_worker.source import json_path

        jpath = json_path(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            known = sorted(err.schema.get("properties", {}))
            for key in sorted(set(err.instance) - set(known)):
                problems.append(
                    doc.problem(
                        f"{jpath}.{key}",
                        f"unknown key '{key}'",
                        f"known keys here: {', '.join(known)}",
                        "policy-schema",
                        key=True,
                    )
                )
            continue
        message, hint = _describe(err)
        problems.append(doc.problem(jpath, message, hint, "policy-schema"))
    if problems:
        raise PolicyError(
            f"{display(path)}: invalid policy file",
            problems,
            "fix the policy file; its shape is schema/org-policy.schema.json",
        )
    return Layer(name, doc)


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
            self._cache[org] = policy
        return self._cache[org]


def load_policy(org: str, root: Path | None = None) -> Policy:
    return PolicyStore(root).for_org(org)


def template_questions() -> dict[str, Any]:
    """copier.yaml's questions and their (unrendered) defaults."""
    import yaml

    data = yaml.safe_load((REPO_ROOT / "copier.yaml").read_text(encoding="utf-8")) or {}
    return {
        k: (v.get("default") if isinstance(v, dict) else v)
        for k, v in data.items()
        if not k.startswith("_")
    }


def new_workspace_data(org: str, root: Path | None = None) -> dict[str, Any]:
    """copier --data that makes a new workspace of `org` born compliant.

    Policy defaults (only those a policy layer sets) for the template questions that
    exist, with required excludes and network tags added and the interval kept within
    the org's bounds. Answers the user gives on the command line should win over these.
    """
    policy = load_policy(org, root)
    questions = template_questions()
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


def check_workspace(ws: Workspace) -> list[Problem]:
    """Every policy violation of one workspace (exceptions applied); [] when compliant."""
    from .compliance import check_spec_file

    return check_spec_file(ws.spec_file).problems


def org_install_file(ws: Workspace) -> Path:
    return ws.dir / ".devcontainer" / "coltec-org.json"


def write_org_install(ws: Workspace, org: str | None = None) -> Path:
    """Write the org's tools and env for post-create (.devcontainer/coltec-org.json)."""
    policy = load_policy(org or ws.org)
    data = {
        "org": policy.org,
        "policy_files": policy.files,
        "tools": policy.tools(),
        "env": {k: s.value for k, s in policy.env().items()},
    }
    path = org_install_file(ws)
    text = json.dumps(data, indent=2) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
