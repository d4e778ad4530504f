"""Loading the configuration inside the daemon: no jsonschema, same semantic rules.

The full schema check runs in the short `--validate-only` process (post-start.sh
runs it before starting the daemon). Here the spec is built from the YAML with the
model's own type checks plus every semantic rule, so a broken file is still refused
(exit 2, or the old configuration is kept on SIGHUP).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from . import rules
from .errors import ConfigError, Problem
from .source import load_yaml
from .spec import UserConfig, WorkspaceSpec, spec_from_dict, user_config_from_dict

DEFAULT_CONFIG = "/workspace/.devcontainer/workspace-spec.yaml"


@dataclass(frozen=True)
class Loaded:
    spec: WorkspaceSpec
    user: UserConfig
    config: Path
    user_config: Path | None


def user_config_path(env: Mapping[str, str], home: Path) -> Path | None:
    """COLTEC_USER_CONFIG (empty: none), else ~/.config/coltec/user.yaml when present."""
    explicit = env.get("COLTEC_USER_CONFIG")
    if explicit is not None:
        return Path(explicit) if explicit else None
    path = home / ".config" / "coltec" / "user.yaml"
    return path if path.exists() else None


def _raise_findings(file: str, findings: list[rules.Finding]) -> None:
    if findings:
        problems = [Problem(file, None, None, f.path, f.message, f.hint, f.rule) for f in findings]
        raise ConfigError(
            f"{file}: {findings[0].path}: {findings[0].message}", problems, hint=findings[0].hint
        )


def load(config: Path, env: Mapping[str, str] | None = None, home: Path | None = None) -> Loaded:
    """Spec + user config, merged, with WORKSPACE_* identity applied. Raises ConfigError."""
    env = os.environ if env is None else env
    home = Path.home() if home is None else home
    doc = load_yaml(config)
    spec = spec_from_dict(doc.data).with_identity(env)
    user = UserConfig()
    user_path = user_config_path(env, home)
    if user_path is not None:
        user = user_config_from_dict(load_yaml(user_path).data)
    user_id = user.user_id or env.get("USER", "") or "user"
    user = replace(user, user_id=user_id)
    _raise_findings(str(config), list(rules.check_spec(spec, user_id)))
    if user.extra_sync_paths:
        values = spec.placeholder_values(user_id)
        taken = [
            (f"{config}::$.persistence.sync[{i}]", s, rules.resolve_checked(s, values)[0])
            for i, s in enumerate(spec.persistence.sync)
        ]
        _raise_findings(
            str(user_path),
            list(
                rules.check_sync_paths(user.extra_sync_paths, "$.extra_sync_paths", values, taken)
            ),
        )
        spec = spec.with_extra_paths(user.extra_sync_paths)
    return Loaded(spec, user, config, user_path)
