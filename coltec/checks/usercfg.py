"""`cs:user`: the effective user configuration, checked alone and against every workspace.

The file is ~/.config/coltec/user.yaml, or COLTEC_USER_CONFIG (empty: none). Its
shape is schema/user-config.schema.json; its extra sync paths must not collide with
any local workspace's own; its env never overrides an org's env (org wins).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from coltec_worker.declaration.pipeline import validate_file
from coltec_worker.declaration.validation import default_user_config_path, validate_user_file
from coltec_worker.errors import Problem, UnreadableError

from coltec.checks.policy import PolicyStore, display
from coltec.errors import PolicyError
from coltec.workspaces import all_workspaces

FIELDS = ("user_id", "dotfiles_repo", "dotfiles_install", "extra_sync_paths", "env")
DEFAULTS: dict[str, Any] = {
    "user_id": "",
    "dotfiles_repo": "",
    "dotfiles_install": "",
    "extra_sync_paths": [],
    "env": {},
}


@dataclass(frozen=True)
class UserSetting:
    field: str
    value: Any
    source: str  # user.yaml:LINE, or "default"


@dataclass
class UserView:
    path: str  # "" when there is no user config
    rows: list[UserSetting] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked_workspaces: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "valid": self.ok,
            "checked_workspaces": self.checked_workspaces,
            "effective": [asdict(r) for r in self.rows],
            "problems": [p.to_dict() for p in self.problems],
            "notes": self.notes,
        }


def user_config_path(explicit: str = "") -> Path | None:
    if explicit:
        return Path(explicit)
    default = default_user_config_path()
    return None if default is None else Path(default)


def describe(explicit: str = "") -> UserView:
    """Effective values with their source, schema problems, and collisions per workspace."""
    path = user_config_path(explicit)
    if path is None:
        view = UserView("")
        view.rows = [UserSetting(k, DEFAULTS[k], "default") for k in FIELDS]
        where = os.environ.get("COLTEC_USER_CONFIG")
        view.notes.append(
            "no user config: COLTEC_USER_CONFIG is empty"
            if where == ""
            else "no user config at ~/.config/coltec/user.yaml (optional)"
        )
        return view
    if not path.is_file():
        raise UnreadableError(
            f"{path}: no such file",
            hint="create it (see README, 'Per-user configuration') or unset COLTEC_USER_CONFIG",
        )
    view = UserView(str(path))
    user, problems, doc = validate_user_file(path)
    view.problems += problems
    data = doc.data if doc is not None and isinstance(doc.data, dict) else {}
    for key in FIELDS:
        if key in data and doc is not None:
            pos = doc.position(f"$.{key}", key=True)
            view.rows.append(
                UserSetting(key, data[key], f"{display(path)}:{pos[0]}" if pos else display(path))
            )
        else:
            view.rows.append(UserSetting(key, DEFAULTS[key], "default"))
    if user is None:
        return view
    seen: set[tuple[int | None, str, str]] = set()
    store = PolicyStore()
    for ws in all_workspaces():
        if not ws.spec_file.is_file():
            continue
        view.checked_workspaces += 1
        try:
            report = validate_file(ws.spec_file, path)
        except UnreadableError:
            continue
        for p in report.problems:
            ident = (p.line, p.path, p.message)
            if p.file == str(path) and ident not in seen:
                seen.add(ident)
                view.problems.append(p)
        try:
            org_env = store.for_org(ws.org).env()
        except PolicyError:
            continue
        for name in sorted(set(user.env) & set(org_env)):
            note = (
                f"env {name}: org {ws.org} sets it ({org_env[name].where}); the org "
                f"value wins in {ws.org} workspaces"
            )
            if note not in view.notes:
                view.notes.append(note)
    return view
