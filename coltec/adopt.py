"""`cs:adopt`: bring a hand-made workspace under the template.

The answers are inferred from the existing declaration (workspace-spec.yaml) and
devcontainer.json; a render with those answers shows what the template would
change. Only `--apply` writes anything, and then only .copier-answers.yml: the
files stay as they are, so the next `cs:update` treats their differences from the
render as the user's own edits and keeps them.
"""

from __future__ import annotations

import difflib
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import jsonc, templating
from .answers import load_questions
from .errors import UsageError
from .workspaces import ANSWERS_FILE, DEVCONTAINER_RELPATH, SPEC_RELPATH

PROJECT_TYPES = ("python", "rust", "node")


@dataclass
class Adoption:
    dir: Path
    answers: dict[str, Any]
    diff: list[str] = field(default_factory=list)  # unified diff lines, render vs. files
    changed_files: list[str] = field(default_factory=list)
    applied: bool = False


def _load_spec(ws_dir: Path) -> dict[str, Any]:
    from coltec_worker.validation import validate_file

    path = ws_dir / SPEC_RELPATH
    if not path.is_file():
        raise UsageError(f"{ws_dir}: no {SPEC_RELPATH}", "adopt needs an existing declaration")
    report = validate_file(path, with_user=False)
    if not report.ok:
        first = report.problems[0]
        raise UsageError(
            f"{path} is not valid ({len(report.problems)} problem(s); first: {first.format()})",
            f"fix it first: `mise run cs:validate {path}`",
        )
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _load_devcontainer(ws_dir: Path) -> dict[str, Any]:
    path = ws_dir / DEVCONTAINER_RELPATH
    if not path.is_file():
        return {}
    try:
        data = jsonc.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise UsageError(f"{path}: not readable JSON ({exc})", "fix its syntax first") from None
    return data if isinstance(data, dict) else {}


def _project_type(spec: dict[str, Any], dc: dict[str, Any]) -> str:
    tags = (spec.get("metadata") or {}).get("tags") or []
    for kind in PROJECT_TYPES:
        if kind in tags:
            return kind
    env_kind = (dc.get("containerEnv") or {}).get("COLTEC_PROJECT_TYPE")
    if env_kind in PROJECT_TYPES:
        return str(env_kind)
    features = " ".join(dc.get("features") or {})
    for kind in PROJECT_TYPES:
        if f"/{kind}:" in features:
            return kind
    return "generic"


def infer_answers(spec: dict[str, Any], dc: dict[str, Any]) -> dict[str, Any]:
    """Template answers that reproduce `spec` (and devcontainer.json) as closely as possible."""
    meta = spec.get("metadata") or {}
    pers = spec.get("persistence") or {}
    net = spec.get("networking") or {}
    sync = pers.get("sync") or []
    answers: dict[str, Any] = {
        "org": meta.get("org"),
        "project": meta.get("project"),
        "environment": meta.get("environment", "dev"),
        "name": spec.get("name"),
        "project_type": _project_type(spec, dc),
        "description": meta.get("description", ""),
        "persistence_enabled": bool(pers.get("enabled", False)),
        "networking_enabled": bool(net.get("enabled", False)),
    }
    if isinstance(dc.get("image"), str):
        answers["base_image"] = dc["image"]
    if sync and isinstance(sync[0].get("interval"), int) and sync[0]["interval"] >= 30:
        answers["sync_interval"] = sync[0]["interval"]
    if answers["networking_enabled"]:
        answers["network_tags"] = list(net.get("tags") or [])
    run_args = dc.get("runArgs")
    if isinstance(run_args, list) and all(isinstance(a, str) for a in run_args):
        answers["run_args"] = run_args
    return answers


def _excludes(spec: dict[str, Any]) -> list[str]:
    sync = (spec.get("persistence") or {}).get("sync") or []
    return list(sync[0].get("exclude") or []) if sync else []


def _render(source: templating.TemplateSource, answers: dict[str, Any], dst: Path) -> None:
    templating.copy(source, dst, answers, defaults=True)


def _diff(ws_dir: Path, render: Path) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    changed: list[str] = []
    for rel, content in templating.rendered_files(render).items():
        if rel == ANSWERS_FILE:
            continue
        path = ws_dir / rel
        before = path.read_bytes() if path.is_file() else b""
        if before == content:
            continue
        changed.append(rel)
        lines += difflib.unified_diff(
            before.decode("utf-8", "replace").splitlines(keepends=True),
            content.decode("utf-8", "replace").splitlines(keepends=True),
            fromfile=f"a/{rel}" if path.is_file() else "/dev/null",
            tofile=f"b/{rel}",
        )
    return lines, changed


def adopt(ws_dir: Path, *, apply: bool = False) -> Adoption:
    """Infer answers, render them, diff; with `apply`, write .copier-answers.yml only."""
    existing = templating.read_answers(ws_dir)
    if existing.get("_commit"):
        raise UsageError(
            f"{ws_dir} is already under the template (version {existing['_commit']})",
            "take in template changes with `mise run cs:update` instead",
        )
    spec, dc = _load_spec(ws_dir), _load_devcontainer(ws_dir)
    source = templating.source_for_new()
    questions = load_questions(source.local_repo)
    answers = infer_answers(spec, dc)
    if isinstance(existing.get("policy_exceptions"), list):
        answers["policy_exceptions"] = existing["policy_exceptions"]
    if questions is not None:
        answers = {k: v for k, v in answers.items() if k in questions}
    with tempfile.TemporaryDirectory(prefix="coltec-adopt-") as tmp:
        # First render without extra excludes: what the template adds by itself.
        base = Path(tmp) / "base"
        _render(source, answers, base)
        defaults = _excludes(yaml.safe_load((base / SPEC_RELPATH).read_text(encoding="utf-8")))
        extra = [e for e in _excludes(spec) if e not in defaults]
        render = base
        if extra and (questions is None or "extra_excludes" in questions):
            answers["extra_excludes"] = extra
            render = Path(tmp) / "render"
            _render(source, answers, render)
        result = Adoption(ws_dir, answers)
        result.diff, result.changed_files = _diff(ws_dir, render)
        if apply:
            shutil.copyfile(render / ANSWERS_FILE, ws_dir / ANSWERS_FILE)
            result.applied = True
    return result
