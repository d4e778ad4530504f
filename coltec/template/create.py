"""`cs:new`: render a new workspace from the template, then validate it.

Policy-aware before it writes: the prompts show and enforce the org's bounds (see
coltec.template.policy_bounds), and the template is rendered into a scratch folder first;
a render the org's policy refuses is a usage error and nothing reaches the nexus.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from coltec.checks.run import ValidationRun, validate_files
from coltec.errors import ColtecError, UsageError
from coltec.template import manifest, rendering
from coltec.template.answers import load_questions, parse_data, policy_answers
from coltec.template.extensions import ANSWER, load_extension
from coltec.template.org_install import write_org_install
from coltec.template.policy_bounds import CONTEXT_KEY, prompt_bounds, refusals, refuse
from coltec.workspaces import (
    ANSWERS_FILE,
    REPO_ROOT,
    SPEC_RELPATH,
    Workspace,
    check_name,
    workspace,
)


@dataclass
class Created:
    workspace: Workspace
    source: rendering.TemplateSource
    validation: ValidationRun


def infer_project(name: str, environment: str) -> str:
    """'api-dev' with environment 'dev' -> 'api' (the template's name is project-env)."""
    suffix = f"-{environment}"
    return name[: -len(suffix)] if name.endswith(suffix) and len(name) > len(suffix) else name


def new_workspace(
    key: str,
    data_items: Iterable[str],
    *,
    defaults: bool,
    extension: str = "",
    root: Path | None = None,
) -> Created:
    """Render codespaces/ORG/NAME from the template (or one of its extensions, see
    coltec.template.extensions); never over an existing folder."""
    ws = workspace(key, root)
    check_name("org", ws.org)
    check_name("name", ws.name)
    if ws.dir.exists() and any(ws.dir.iterdir()):
        raise UsageError(
            f"{ws.key} already exists at {ws.dir}",
            f"update it with `mise run cs:update {ws.key}`, or pick another name",
        )
    source = rendering.source_for_new()
    questions = load_questions(source.local_repo)
    data = parse_data(data_items, questions)
    if extension and data.get(ANSWER, extension) != extension:
        raise UsageError(
            f"--data {ANSWER}={data[ANSWER]} contradicts --template {extension}",
            f"drop --data {ANSWER}",
        )
    extension = extension or str(data.get(ANSWER) or "")
    # The extension's answers are defaults (--data wins), more specific than the org's.
    ext_defaults: dict[str, object] = {}
    if extension:
        ext_defaults = load_extension(source.local_repo, extension, questions).defaults()
        data[ANSWER] = extension
    for fixed in ("org", "name"):
        if fixed in data and data[fixed] != getattr(ws, fixed):
            raise UsageError(
                f"--data {fixed}={data[fixed]} contradicts {ws.key}",
                f"the {fixed} comes from ORG/NAME; drop --data {fixed}",
            )
    data.update(org=ws.org, name=ws.name)
    project = infer_project(ws.name, str(data.get("environment") or "dev"))
    interactive = not defaults and sys.stdin.isatty()
    bounds = prompt_bounds(ws.org, data, extension)
    with tempfile.TemporaryDirectory(prefix="coltec-new-") as scratch_root:
        scratch = Path(scratch_root) / ws.name  # the folder's name, as copier sees it
        try:
            rendering.copy(
                source,
                scratch,
                {**data, CONTEXT_KEY: bounds},
                defaults=not interactive,
                user_defaults={"project": project, **policy_answers(ws.org), **ext_defaults},
                quiet=not interactive,
            )
        except ColtecError as exc:  # name the workspace, not the scratch folder
            for where in {str(scratch.resolve()), str(scratch)}:
                exc.message = exc.message.replace(where, str(ws.dir))
            exc.args = (exc.message,)
            raise
        if rendering.is_default_source(source.url):
            _record_relative_source(scratch, ws.dir)
        problems = refusals(scratch / SPEC_RELPATH)
        if problems:
            raise refuse(ws.key, problems, scratch)
        # Folders this command creates, outermost first: removed again if copying fails.
        created = [p for p in (ws.dir.parent, ws.dir) if not p.exists()]
        try:
            shutil.copytree(scratch, ws.dir, symlinks=True, dirs_exist_ok=True)
        except BaseException:
            if created:
                shutil.rmtree(created[0], ignore_errors=True)
            raise
    if manifest.template_clean(source.local_repo):
        # The folder was empty: everything in it now is the render.
        files = rendering.rendered_files(ws.dir)
        manifest.write(ws.dir, rendering.read_answers(ws.dir), files)
    write_org_install(ws)
    return Created(ws, source, validate_files([ws.spec_file]))


def _record_relative_source(scratch: Path, final: Path) -> None:
    """The answers file of a render made in `scratch` records this repository relative to
    `final`, where the workspace will live (see rendering.copy), written as copier does."""
    path = scratch / ANSWERS_FILE
    rel = os.path.relpath(REPO_ROOT.resolve(), final.resolve())
    line = yaml.safe_dump({"_src_path": rel}, default_flow_style=False, allow_unicode=True)
    text = path.read_text(encoding="utf-8")
    path.write_text(re.sub(r"(?m)^_src_path:.*\n", lambda _: line, text, count=1), encoding="utf-8")
