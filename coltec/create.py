"""`cs:new`: render a new workspace from the template, then validate it."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import templating
from .answers import load_questions, parse_data
from .errors import UsageError
from .policy import new_workspace_data, write_org_install
from .reporting import ValidationRun, validate_files
from .workspaces import Workspace, check_name, workspace


@dataclass
class Created:
    workspace: Workspace
    source: templating.TemplateSource
    validation: ValidationRun


def infer_project(name: str, environment: str) -> str:
    """'api-dev' with environment 'dev' -> 'api' (the template's name is project-env)."""
    suffix = f"-{environment}"
    return name[: -len(suffix)] if name.endswith(suffix) and len(name) > len(suffix) else name


def new_workspace(
    key: str, data_items: Iterable[str], *, defaults: bool, root: Path | None = None
) -> Created:
    """Render codespaces/ORG/NAME from the template; never over an existing folder."""
    ws = workspace(key, root)
    check_name("org", ws.org)
    check_name("name", ws.name)
    if ws.dir.exists() and any(ws.dir.iterdir()):
        raise UsageError(
            f"{ws.key} already exists at {ws.dir}",
            f"update it with `mise run cs:update {ws.key}`, or pick another name",
        )
    source = templating.source_for_new()
    data = parse_data(data_items, load_questions(source.local_repo))
    for fixed in ("org", "name"):
        if fixed in data and data[fixed] != getattr(ws, fixed):
            raise UsageError(
                f"--data {fixed}={data[fixed]} contradicts {ws.key}",
                f"the {fixed} comes from ORG/NAME; drop --data {fixed}",
            )
    data.update(org=ws.org, name=ws.name)
    project = infer_project(ws.name, str(data.get("environment") or "dev"))
    interactive = not defaults and sys.stdin.isatty()
    # Folders this command creates, outermost first: removed again if rendering fails.
    created = [p for p in (ws.dir.parent, ws.dir) if not p.exists()]
    try:
        templating.copy(
            source,
            ws.dir,
            data,
            defaults=not interactive,
            user_defaults={"project": project, **new_workspace_data(ws.org)},  # org policy
            quiet=not interactive,
        )
    except BaseException:
        if created:
            shutil.rmtree(created[0], ignore_errors=True)
        raise
    write_org_install(ws)
    return Created(ws, source, validate_files([ws.spec_file]))
