"""`cs:adopt`: bring an existing devcontainer folder under the template.

The answers come from the declaration (workspace-spec.yaml, when there is one) and
from every setting of devcontainer.json (see coltec.template.inference). A render with those
answers is compared with the files. Only `--apply` writes: the answers file (its
template source recorded the way `cs:new` records it, so `cs:update` and
`cs:outdated` work), the rendered devcontainer.json when it keeps every setting the
user had (else the user's file stays, and the lost settings are listed), a minimal
workspace-spec.yaml when there was none, and the template's files that are missing.
A file of the user's that means something else than the render stays as it is: the
next `cs:update` treats the difference as the user's own edit and keeps it.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from coltec_worker.declaration.fields import schema_property
from coltec_worker.declaration.source import load_yaml

from coltec import jsonc
from coltec.errors import UsageError
from coltec.template import adopt_project as project
from coltec.template import manifest, rendering
from coltec.template.answers import load_questions, parse_data
from coltec.template.create import infer_project
from coltec.template.devcontainer_json import load_devcontainer
from coltec.template.inference import carried_answers, lost_settings, project_type, referenced_files
from coltec.workspaces import (
    ANSWERS_FILE,
    DEVCONTAINER_RELPATH,
    REPO_ROOT,
    SPEC_RELPATH,
    check_name,
    existing_workspace,
    is_dir,
)


@dataclass
class Adoption:
    dir: Path
    answers: dict[str, Any]
    diff: list[str] = field(default_factory=list)  # unified diff lines, files vs. render
    changed_files: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)  # settings a render would not keep
    written: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # user's files left as they are
    notes: list[str] = field(default_factory=list)
    applied: bool = False
    next_steps: list[str] = field(default_factory=list)  # commands that work for this folder


# The spec schema's bound: a smaller interval is not carried into the answers.
INTERVAL_MIN: int = schema_property("syncPath", "interval")["minimum"]


def _load_spec(ws_dir: Path) -> dict[str, Any] | None:
    from coltec_worker.declaration.pipeline import validate_file

    path = ws_dir / SPEC_RELPATH
    if not path.is_file():
        return None
    report = validate_file(path, with_user=False)
    if not report.ok:
        first = report.problems[0]
        raise UsageError(
            f"{path} is not valid ({len(report.problems)} problem(s); first: {first.format()})",
            f"fix it first: `mise run cs:validate {path}`",
        )
    data = load_yaml(path).data
    return data if isinstance(data, dict) else {}


def _identity(ws_dir: Path, spec: dict[str, Any] | None, given: dict[str, Any]) -> dict[str, Any]:
    """org, name, project, environment: --data, else the declaration, else the folders."""
    meta = (spec or {}).get("metadata") or {}
    org = given.get("org") or meta.get("org") or ws_dir.resolve().parent.name
    name = given.get("name") or (spec or {}).get("name") or ws_dir.resolve().name
    for kind, value in (("org", org), ("name", name)):
        try:
            check_name(kind, str(value))
        except UsageError as exc:
            raise UsageError(
                exc.message,
                f"name it: `mise run cs:adopt {ws_dir} --data org=ORG --data name=NAME`",
            ) from None
    environment = given.get("environment") or meta.get("environment") or "dev"
    answers: dict[str, Any] = {
        "org": org,
        "name": name,
        "environment": environment,
        "project": meta.get("project") or infer_project(str(name), str(environment)),
    }
    if spec is not None:
        pers, net = spec.get("persistence") or {}, spec.get("networking") or {}
        sync = pers.get("sync") or []
        answers.update(
            description=meta.get("description", ""),
            persistence_enabled=bool(pers.get("enabled", False)),
            networking_enabled=bool(net.get("enabled", False)),
        )
        if (
            sync
            and isinstance(sync[0].get("interval"), int)
            and sync[0]["interval"] >= INTERVAL_MIN
        ):
            answers["sync_interval"] = sync[0]["interval"]
        if answers["networking_enabled"]:
            answers["network_tags"] = list(net.get("tags") or [])
        tags = meta.get("tags") or []
        kinds = [t for t in tags if t in ("python", "rust", "node", "go", "java", "generic")]
        if kinds:
            answers["project_type"] = kinds[0]
    return answers


def _excludes(spec: dict[str, Any]) -> list[str]:
    sync = (spec.get("persistence") or {}).get("sync") or []
    return list(sync[0].get("exclude") or []) if sync else []


def _render(source: rendering.TemplateSource, answers: dict[str, Any], dst: Path) -> dict[str, Any]:
    rendering.copy(source, dst, answers, defaults=True)
    text = (dst / DEVCONTAINER_RELPATH).read_text(encoding="utf-8")
    data: dict[str, Any] = jsonc.loads(text, exact_numbers=True)  # as load_devcontainer
    return data


def _diff(ws_dir: Path, render: Path) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    changed: list[str] = []
    for rel, content in rendering.rendered_files(render).items():
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


def _answers_text(render: Path, source: rendering.TemplateSource, ws_dir: Path) -> str:
    """The render's answers file with the source recorded as `cs:new` records it."""
    text = (render / ANSWERS_FILE).read_text(encoding="utf-8")
    recorded = source.url
    if rendering.is_default_source(source.url):
        recorded = os.path.relpath(REPO_ROOT.resolve(), ws_dir.resolve())
    line = f"_src_path: {json.dumps(recorded)}"
    return re.sub(r"(?m)^_src_path:.*$", lambda _: line, text)


def _write(ws_dir: Path, render: Path, result: Adoption, source: rendering.TemplateSource) -> None:
    had_spec = (ws_dir / SPEC_RELPATH).is_file()
    for rel, content in rendering.rendered_files(render).items():
        path = ws_dir / rel
        if rel == project.GITIGNORE and not project.in_codespaces(ws_dir):
            project.write_gitignore(path, result.written, result.kept, result.notes)
            continue
        if rel == ANSWERS_FILE:
            path.write_text(_answers_text(render, source, ws_dir), encoding="utf-8")
            result.written.append(rel)
            continue
        if path.is_file() and path.read_bytes() == content:
            continue
        replace = not path.exists()
        if rel == DEVCONTAINER_RELPATH.as_posix():
            replace = not result.lost
        elif rel == SPEC_RELPATH.as_posix() and path.is_file():
            rendered = yaml.safe_load(content)
            replace = yaml.safe_load(path.read_text(encoding="utf-8")) == rendered
        if replace:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            shutil.copymode(render / rel, path)
            result.written.append(rel)
        else:
            result.kept.append(rel)
    if not had_spec:
        result.notes.append(
            f"wrote a minimal {SPEC_RELPATH.as_posix()} (persisting /workspace): review it"
        )
        folder = result.answers.get("devcontainer_extra", {}).get("workspaceFolder")
        if folder not in (None, "/workspace"):
            result.notes.append(
                f"the container's workspace folder is {folder}, not /workspace: point "
                "persistence.sync[0].path of the spec at the folder to keep"
            )


def _tracked_files(ws_dir: Path, dc: dict[str, Any]) -> list[str]:
    """Files the configuration needs outside .devcontainer/ (Dockerfile, compose files).

    The template's .gitignore keeps only its own files in the nexus; without these a
    teammate's clone would lack what the container is built from.
    """
    root = ws_dir.resolve()
    return list(
        dict.fromkeys(
            path.relative_to(root).as_posix()
            for path in referenced_files(dc, ws_dir / DEVCONTAINER_RELPATH)
            if path.is_relative_to(root) and not path.is_relative_to(root / ".devcontainer")
        )
    )


def adopt(ws_dir: Path, *, apply: bool = False, data: Iterable[str] = ()) -> Adoption:
    """Infer answers, render them, diff; with `apply`, write (see the module docstring)."""
    existing = rendering.read_answers(ws_dir)
    if existing.get("_commit"):
        raise UsageError(
            f"{ws_dir} is already under the template (version {existing['_commit']})",
            "take in template changes with `mise run cs:update` instead",
        )
    devcontainer = ws_dir / DEVCONTAINER_RELPATH
    spec = _load_spec(ws_dir)
    dc, _lines = load_devcontainer(devcontainer)
    source = rendering.source_for_new()
    questions = load_questions(source.local_repo)
    given = parse_data(data, questions)
    answers = _identity(ws_dir, spec, given)
    answers.setdefault("project_type", project_type(dc, devcontainer, ws_dir))
    if isinstance(existing.get("policy_exceptions"), list):
        answers["policy_exceptions"] = existing["policy_exceptions"]
    with tempfile.TemporaryDirectory(prefix="coltec-adopt-") as tmp:
        # First the plain render (what the template writes by itself), then the
        # settings it lacks, carried as answers.
        base = _render(source, {**answers, **given}, Path(tmp) / "base")
        answers.update(carried_answers(dc, base))
        tracked = _tracked_files(ws_dir, dc)
        if tracked:
            answers["tracked_files"] = tracked
        if spec is not None:
            plain = yaml.safe_load((Path(tmp) / "base" / SPEC_RELPATH).read_text("utf-8"))
            extra = [e for e in _excludes(spec) if e not in _excludes(plain)]
            if extra:
                answers["extra_excludes"] = extra
        answers.update(given)
        if questions is not None:
            answers = {k: v for k, v in answers.items() if k in questions}
        render = Path(tmp) / "render"
        rendered = _render(source, answers, render)
        result = Adoption(ws_dir, answers, lost=lost_settings(dc, rendered))
        result.diff, result.changed_files = _diff(ws_dir, render)
        if apply:
            _write(ws_dir, render, result, source)
            if manifest.template_clean(source.local_repo):
                # What the template wrote, not the user's files kept beside it.
                files = rendering.rendered_files(render)
                manifest.write(ws_dir, rendering.read_answers(ws_dir), files)
            result.applied = True
            result.next_steps = project.next_steps(ws_dir, result.written)
    return result


def adopt_target(target: str, *, apply: bool = False, data: Iterable[str] = ()) -> Adoption:
    """`cs:adopt PATH`: PATH is a folder holding .devcontainer/, or a workspace ORG/NAME."""
    folder = Path(target) if is_dir(Path(target)) else existing_workspace(target).dir
    return adopt(folder, apply=apply, data=data)
