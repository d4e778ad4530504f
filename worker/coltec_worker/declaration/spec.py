"""The spec model: typed, immutable objects built from a parsed workspace-spec.yaml.

The JSON Schema in schema/ is the one source of the shape; tests keep the field
names and defaults here in agreement with it, both ways. `from_dict` trusts the
shape only as far as it must: a wrong type raises ConfigError (the daemon does
not import jsonschema; `--validate-only` does the full check).

Records (record.py), not dataclasses: `--validate-only` imports this module, and
dataclasses (with inspect, ast, dis) would add about a fifth to its start-up time.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from types import MappingProxyType

from coltec_worker.errors import ConfigError
from coltec_worker.record import TYPE_CHECKING, Record

if TYPE_CHECKING:
    from typing import Any

PLACEHOLDERS = ("org", "project", "env", "name", "user_id")
# Environment variables that override the workspace identity, by metadata field.
IDENTITY_ENV = {
    "org": "WORKSPACE_ORG",
    "project": "WORKSPACE_PROJECT",
    "environment": "WORKSPACE_ENV",
    "name": "WORKSPACE_NAME",
}
OptionValue = str | int | float | bool


class SyncPath(Record):
    name: str
    path: str
    remote_path: str
    direction: str = "bidirectional"
    interval: int = 300
    priority: int = 2
    exclude: tuple[str, ...] = ()


class Encryption(Record):
    enabled: bool = False
    password_env: str = "COLTEC_CRYPT_PASSWORD"


class RcloneConfig(Record):
    remote_name: str = "r2"
    type: str = "s3"
    options: Mapping[str, OptionValue] = MappingProxyType({})
    encryption: Encryption = Encryption()


class Persistence(Record):
    enabled: bool = False
    mode: str = "replicated"
    sync: tuple[SyncPath, ...] = ()
    rclone_config: RcloneConfig = RcloneConfig()


class Metadata(Record):
    org: str
    project: str
    environment: str = "dev"
    description: str = ""
    tags: tuple[str, ...] = ()


class Networking(Record):
    enabled: bool = False
    hostname_prefix: str = "dev-"
    tags: tuple[str, ...] = ()


class WorkspaceSpec(Record):
    name: str
    metadata: Metadata
    version: str = "1"
    persistence: Persistence = Persistence()
    networking: Networking = Networking()

    def placeholder_values(self, user_id: str = "") -> dict[str, str]:
        return {
            "org": self.metadata.org,
            "project": self.metadata.project,
            "env": self.metadata.environment,
            "name": self.name,
            "user_id": user_id,
        }

    def with_identity(self, env: Mapping[str, str]) -> WorkspaceSpec:
        """Apply WORKSPACE_ORG/PROJECT/ENV/NAME overrides from the environment."""
        meta = self.metadata
        meta = meta._replace(
            org=env.get(IDENTITY_ENV["org"]) or meta.org,
            project=env.get(IDENTITY_ENV["project"]) or meta.project,
            environment=env.get(IDENTITY_ENV["environment"]) or meta.environment,
        )
        return self._replace(metadata=meta, name=env.get(IDENTITY_ENV["name"]) or self.name)

    def with_extra_paths(self, extra: tuple[SyncPath, ...]) -> WorkspaceSpec:
        persistence = self.persistence._replace(sync=self.persistence.sync + extra)
        return self._replace(persistence=persistence)


class UserConfig(Record):
    user_id: str = ""
    dotfiles_repo: str = ""
    dotfiles_install: str = ""
    extra_sync_paths: tuple[SyncPath, ...] = ()
    env: Mapping[str, str] = MappingProxyType({})


def as_data(value: Any) -> Any:
    """The model as plain data: mappings for records, tuples kept (dataclasses.asdict's shape)."""
    if hasattr(value, "_asdict"):
        return {k: as_data(v) for k, v in value._asdict().items()}
    if isinstance(value, tuple):
        return tuple(as_data(v) for v in value)
    if isinstance(value, Mapping):
        return {k: as_data(v) for k, v in value.items()}
    return value


def placeholders_in(template: str) -> list[str]:
    """Field names used in a remote_path template (`{org}/x` -> ['org'])."""
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValueError(f"unbalanced braces ({exc})") from None


# -- construction from plain data -------------------------------------------------


def _get(
    data: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any
) -> Any:
    value = data.get(key, default)
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON has one number type: 300.0 is the integer 300
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ConfigError(
            f"{where}.{key}: expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}"
        )
    return value


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(value).__name__}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: expected a list of strings")
    return tuple(value)


def sync_path_from_dict(data: Any, where: str) -> SyncPath:
    d = _mapping(data, where)
    return SyncPath(
        name=_get(d, "name", str, where, None),
        path=_get(d, "path", str, where, None),
        remote_path=_get(d, "remote_path", str, where, None),
        direction=_get(d, "direction", str, where, "bidirectional"),
        interval=_get(d, "interval", int, where, 300),
        priority=_get(d, "priority", int, where, 2),
        exclude=_strings(d.get("exclude"), f"{where}.exclude"),
    )


def spec_from_dict(data: Any) -> WorkspaceSpec:
    root = _mapping(data, "$")
    meta = _mapping(root.get("metadata"), "$.metadata")
    pers = _mapping(root.get("persistence"), "$.persistence")
    rc = _mapping(pers.get("rclone_config"), "$.persistence.rclone_config")
    enc = _mapping(rc.get("encryption"), "$.persistence.rclone_config.encryption")
    net = _mapping(root.get("networking"), "$.networking")
    sync_items = pers.get("sync") or []
    if not isinstance(sync_items, list):
        raise ConfigError("$.persistence.sync: expected a list")
    return WorkspaceSpec(
        name=_get(root, "name", str, "$", None),
        version=str(root.get("version", "1")),
        metadata=Metadata(
            org=_get(meta, "org", str, "$.metadata", None),
            project=_get(meta, "project", str, "$.metadata", None),
            environment=_get(meta, "environment", str, "$.metadata", "dev"),
            description=_get(meta, "description", str, "$.metadata", ""),
            tags=_strings(meta.get("tags"), "$.metadata.tags"),
        ),
        persistence=Persistence(
            enabled=_get(pers, "enabled", bool, "$.persistence", False),
            mode=_get(pers, "mode", str, "$.persistence", "replicated"),
            sync=tuple(
                sync_path_from_dict(item, f"$.persistence.sync[{i}]")
                for i, item in enumerate(sync_items)
            ),
            rclone_config=RcloneConfig(
                remote_name=_get(rc, "remote_name", str, "$.persistence.rclone_config", "r2"),
                type=_get(rc, "type", str, "$.persistence.rclone_config", "s3"),
                options=dict(_mapping(rc.get("options"), "$.persistence.rclone_config.options")),
                encryption=Encryption(
                    enabled=_get(
                        enc, "enabled", bool, "$.persistence.rclone_config.encryption", False
                    ),
                    password_env=_get(
                        enc,
                        "password_env",
                        str,
                        "$.persistence.rclone_config.encryption",
                        "COLTEC_CRYPT_PASSWORD",
                    ),
                ),
            ),
        ),
        networking=Networking(
            enabled=_get(net, "enabled", bool, "$.networking", False),
            hostname_prefix=_get(net, "hostname_prefix", str, "$.networking", "dev-"),
            tags=_strings(net.get("tags"), "$.networking.tags"),
        ),
    )


def user_config_from_dict(data: Any) -> UserConfig:
    root = _mapping(data, "$")
    items = root.get("extra_sync_paths") or []
    if not isinstance(items, list):
        raise ConfigError("$.extra_sync_paths: expected a list")
    env = _mapping(root.get("env"), "$.env")
    return UserConfig(
        user_id=_get(root, "user_id", str, "$", ""),
        dotfiles_repo=_get(root, "dotfiles_repo", str, "$", ""),
        dotfiles_install=_get(root, "dotfiles_install", str, "$", ""),
        extra_sync_paths=tuple(
            sync_path_from_dict(item, f"$.extra_sync_paths[{i}]") for i, item in enumerate(items)
        ),
        env={str(k): str(v) for k, v in env.items()},
    )
