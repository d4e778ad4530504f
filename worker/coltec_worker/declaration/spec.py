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

from coltec_worker.declaration import containerspec as cs
from coltec_worker.declaration import storagespec as ss
from coltec_worker.declaration.fields import get as _get
from coltec_worker.declaration.fields import items as _items
from coltec_worker.declaration.fields import mapping as _mapping
from coltec_worker.declaration.fields import optional as _optional
from coltec_worker.declaration.fields import schema_default
from coltec_worker.declaration.fields import strings as _strings
from coltec_worker.declaration.storagespec import OptionValue
from coltec_worker.record import TYPE_CHECKING, Record

if TYPE_CHECKING:
    from typing import Any

__all__ = ["OptionValue"]

PLACEHOLDERS = ("org", "project", "env", "name", "user_id")
# Environment variables that override the workspace identity, by metadata field.
IDENTITY_ENV = {
    "org": "WORKSPACE_ORG",
    "project": "WORKSPACE_PROJECT",
    "environment": "WORKSPACE_ENV",
    "name": "WORKSPACE_NAME",
}
PREDECESSOR_VERSION = "1.0.0"


class SyncPath(Record):
    name: str
    path: str
    remote_path: str
    remote: str | None = schema_default("syncPath", "remote")
    direction: str = schema_default("syncPath", "direction")
    interval: int = schema_default("syncPath", "interval")
    priority: int = schema_default("syncPath", "priority")
    exclude: tuple[str, ...] = schema_default("syncPath", "exclude")
    transfers: int | None = schema_default("syncPath", "transfers")
    checkers: int | None = schema_default("syncPath", "checkers")
    bwlimit: str | None = schema_default("syncPath", "bwlimit")


class Encryption(Record):
    enabled: bool = False
    password_env: str = "COLTEC_CRYPT_PASSWORD"


class RcloneConfig(Record):
    remote_name: str = schema_default("rcloneConfig", "remote_name")
    type: str = schema_default("rcloneConfig", "type")
    options: Mapping[str, OptionValue] = MappingProxyType({})
    encryption: Encryption = Encryption()


class Persistence(Record):
    enabled: bool = schema_default("persistence", "enabled")
    mode: str = schema_default("persistence", "mode")
    scope: str = schema_default("persistence", "scope")
    mounts: tuple[cs.PersistenceMount, ...] = ()
    remotes: Mapping[str, ss.RemoteSpec] = MappingProxyType({})
    default_remote: str | None = schema_default("persistence", "default_remote")
    defaults: ss.SyncDefaults = ss.SyncDefaults()
    sync: tuple[SyncPath, ...] = ()
    multi_scope_volumes: ss.MultiScopeVolumes | None = None
    rclone_config: RcloneConfig = RcloneConfig()

    def volume_paths(self) -> tuple[SyncPath, ...]:
        """multi_scope_volumes.environment as sync paths: the predecessor's daemon synced
        them like persistence.sync, on the default remote, with the default settings."""
        if self.multi_scope_volumes is None:
            return ()
        return tuple(
            SyncPath(
                name=v.name,
                path=v.mount_path,
                remote_path=v.remote_path,
                direction=v.sync,
                interval=v.interval,
                priority=v.priority,
                exclude=v.exclude,
            )
            for v in self.multi_scope_volumes.environment
        )


class Metadata(Record):
    org: str
    project: str
    environment: str = schema_default("metadata", "environment")
    description: str = schema_default("metadata", "description")
    tags: tuple[str, ...] = ()


class Networking(Record):
    enabled: bool = False
    hostname_prefix: str = schema_default("networking", "hostname_prefix")
    tags: tuple[str, ...] = ()


class WorkspaceSpec(Record):
    name: str
    metadata: Metadata
    version: str = schema_default("", "version")
    generated_at: str | None = None
    devcontainer: cs.Devcontainer | None = None
    mounts: tuple[cs.Mount, ...] = ()
    secrets: tuple[cs.Secret, ...] = ()
    persistence: Persistence = Persistence()
    networking: Networking = Networking()

    @property
    def predecessor_form(self) -> bool:
        """Written in the predecessor's form (version 1.0.0, or its devcontainer section):
        the rules that only the predecessor's format has apply."""
        return self.version == PREDECESSOR_VERSION or self.devcontainer is not None

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


def sync_path_from_dict(data: Any, where: str) -> SyncPath:
    d = _mapping(data, where)
    base = SyncPath._defaults
    return SyncPath(
        name=_get(d, "name", str, where, None),
        path=_get(d, "path", str, where, None),
        remote_path=_get(d, "remote_path", str, where, None),
        remote=_optional(d, "remote", str, where),
        direction=_get(d, "direction", str, where, base["direction"]),
        interval=_get(d, "interval", int, where, base["interval"]),
        priority=_get(d, "priority", int, where, base["priority"]),
        exclude=_strings(d.get("exclude"), f"{where}.exclude"),
        transfers=_optional(d, "transfers", int, where),
        checkers=_optional(d, "checkers", int, where),
        bwlimit=_optional(d, "bwlimit", str, where),
    )


def _persistence(pers: Mapping[str, Any]) -> Persistence:
    where = "$.persistence"
    rc = _mapping(pers.get("rclone_config"), f"{where}.rclone_config")
    enc = _mapping(rc.get("encryption"), f"{where}.rclone_config.encryption")
    base = Persistence._defaults
    volumes = pers.get("multi_scope_volumes")
    volumes_where = f"{where}.multi_scope_volumes"
    if volumes is None and pers.get("volumes") is not None:
        volumes, volumes_where = pers.get("volumes"), f"{where}.volumes"
    return Persistence(
        enabled=_get(pers, "enabled", bool, where, base["enabled"]),
        mode=_get(pers, "mode", str, where, base["mode"]),
        scope=_get(pers, "scope", str, where, base["scope"]),
        mounts=_items(pers.get("mounts"), f"{where}.mounts", cs.persistence_mount_from_dict),
        remotes=ss.remotes_from_dict(pers.get("remotes"), f"{where}.remotes"),
        default_remote=_optional(pers, "default_remote", str, where),
        defaults=ss.defaults_from_dict(pers.get("defaults"), f"{where}.defaults"),
        sync=_items(pers.get("sync"), f"{where}.sync", sync_path_from_dict),
        multi_scope_volumes=ss.volumes_from_dict(volumes, volumes_where),
        rclone_config=RcloneConfig(
            remote_name=_get(
                rc, "remote_name", str, f"{where}.rclone_config", RcloneConfig().remote_name
            ),
            type=_get(rc, "type", str, f"{where}.rclone_config", RcloneConfig().type),
            options=dict(_mapping(rc.get("options"), f"{where}.rclone_config.options")),
            encryption=Encryption(
                enabled=_get(enc, "enabled", bool, f"{where}.rclone_config.encryption", False),
                password_env=_get(
                    enc,
                    "password_env",
                    str,
                    f"{where}.rclone_config.encryption",
                    Encryption().password_env,
                ),
            ),
        ),
    )


def spec_from_dict(data: Any) -> WorkspaceSpec:
    root = _mapping(data, "$")
    meta = _mapping(root.get("metadata"), "$.metadata")
    net = _mapping(root.get("networking"), "$.networking")
    version = root.get("version", WorkspaceSpec._defaults["version"])
    return WorkspaceSpec(
        name=_get(root, "name", str, "$", None),
        version=str(version),
        generated_at=None if root.get("generated_at") is None else str(root["generated_at"]),
        metadata=Metadata(
            org=_get(meta, "org", str, "$.metadata", None),
            project=_get(meta, "project", str, "$.metadata", None),
            environment=_get(
                meta, "environment", str, "$.metadata", Metadata._defaults["environment"]
            ),
            description=_optional(
                meta, "description", str, "$.metadata", Metadata._defaults["description"]
            ),
            tags=_strings(meta.get("tags"), "$.metadata.tags"),
        ),
        devcontainer=cs.devcontainer_from_dict(root.get("devcontainer")),
        mounts=_items(root.get("mounts"), "$.mounts", cs.mount_from_dict),
        secrets=_items(root.get("secrets"), "$.secrets", cs.secret_from_dict),
        persistence=_persistence(_mapping(root.get("persistence"), "$.persistence")),
        networking=Networking(
            enabled=_get(net, "enabled", bool, "$.networking", False),
            hostname_prefix=_get(
                net, "hostname_prefix", str, "$.networking", Networking().hostname_prefix
            ),
            tags=_strings(net.get("tags"), "$.networking.tags"),
        ),
    )


def user_config_from_dict(data: Any) -> UserConfig:
    root = _mapping(data, "$")
    env = _mapping(root.get("env"), "$.env")
    return UserConfig(
        user_id=_get(root, "user_id", str, "$", ""),
        dotfiles_repo=_get(root, "dotfiles_repo", str, "$", ""),
        dotfiles_install=_get(root, "dotfiles_install", str, "$", ""),
        extra_sync_paths=_items(
            root.get("extra_sync_paths"), "$.extra_sync_paths", sync_path_from_dict
        ),
        env={str(k): str(v) for k, v in env.items()},
    )
