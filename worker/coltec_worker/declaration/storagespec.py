"""Where sync paths go, as declared: named remotes (s3, any rclone backend, crypt),
operation defaults, and the predecessor's volumes (`multi_scope_volumes`, `volumes`).

Pure model; the rules are in rules.py / remote_rules.py, the per-path effective
settings in operation.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from coltec_worker.declaration.fields import (
    get,
    items,
    mapping,
    optional,
    schema_default,
    strings,
)
from coltec_worker.errors import ConfigError
from coltec_worker.record import TYPE_CHECKING, Record

if TYPE_CHECKING:
    from typing import Any

OptionValue = str | int | float | bool


class CryptSpec(Record):
    password_env: str
    password2_env: str | None = schema_default("crypt", "password2_env")
    filename_encryption: str = schema_default("crypt", "filename_encryption")
    directory_name_encryption: bool = schema_default("crypt", "directory_name_encryption")


class RemoteSpec(Record):
    type: str = schema_default("remote", "type")
    bucket: str | None = schema_default("remote", "bucket")
    path_prefix: str | None = schema_default("remote", "path_prefix")
    options: Mapping[str, OptionValue] = MappingProxyType({})
    wrap_remote: str | None = schema_default("remote", "wrap_remote")
    wrap_path: str | None = schema_default("remote", "wrap_path")
    crypt: CryptSpec | None = None


class SyncDefaults(Record):
    """null in the file means the schema's default, so these are never None."""

    transfers: int = schema_default("syncDefaults", "transfers")
    checkers: int = schema_default("syncDefaults", "checkers")
    bwlimit: str | None = schema_default("syncDefaults", "bwlimit")


class Volume(Record):
    """A predecessor volume: synced like a sync path (mount_path is its folder)."""

    name: str
    remote_path: str
    mount_path: str
    sync: str = schema_default("syncPath", "direction")
    interval: int = schema_default("syncPath", "interval")
    priority: int = schema_default("syncPath", "priority")
    exclude: tuple[str, ...] = schema_default("syncPath", "exclude")
    read_only: bool = schema_default("volume", "read_only")


class MultiScopeVolumes(Record):
    """`global`/`project` (the Python era's names) are folded into the *_refs fields."""

    global_refs: tuple[str, ...] = ()
    project_refs: tuple[str, ...] = ()
    environment: tuple[Volume, ...] = ()


# -- construction from plain data -------------------------------------------------


def crypt_from_dict(data: Any, where: str) -> CryptSpec | None:
    if data is None:
        return None
    d = mapping(data, where)
    return CryptSpec(
        password_env=get(d, "password_env", str, where, None),
        password2_env=optional(d, "password2_env", str, where),
        filename_encryption=get(
            d, "filename_encryption", str, where, CryptSpec._defaults["filename_encryption"]
        ),
        directory_name_encryption=get(
            d,
            "directory_name_encryption",
            bool,
            where,
            CryptSpec._defaults["directory_name_encryption"],
        ),
    )


def remote_from_dict(data: Any, where: str) -> RemoteSpec:
    d = mapping(data, where)
    options = mapping(d.get("options"), f"{where}.options")
    for key, value in options.items():
        if not isinstance(value, str | int | float | bool):
            raise ConfigError(f"{where}.options.{key}: expected a string, number or boolean")
    return RemoteSpec(
        type=get(d, "type", str, where, RemoteSpec._defaults["type"]),
        bucket=optional(d, "bucket", str, where),
        path_prefix=optional(d, "path_prefix", str, where),
        options=dict(options),
        wrap_remote=optional(d, "wrap_remote", str, where),
        wrap_path=optional(d, "wrap_path", str, where),
        crypt=crypt_from_dict(d.get("crypt"), f"{where}.crypt"),
    )


def remotes_from_dict(data: Any, where: str) -> dict[str, RemoteSpec]:
    return {
        str(name): remote_from_dict(value, f"{where}.{name}")
        for name, value in mapping(data, where).items()
    }


def defaults_from_dict(data: Any, where: str) -> SyncDefaults:
    d = mapping(data, where)
    base = SyncDefaults()
    return SyncDefaults(
        transfers=optional(d, "transfers", int, where, base.transfers),
        checkers=optional(d, "checkers", int, where, base.checkers),
        bwlimit=optional(d, "bwlimit", str, where, base.bwlimit),
    )


def volume_from_dict(data: Any, where: str) -> Volume:
    d = mapping(data, where)
    base = Volume._defaults
    return Volume(
        name=get(d, "name", str, where, None),
        remote_path=get(d, "remote_path", str, where, None),
        mount_path=get(d, "mount_path", str, where, None),
        sync=get(d, "sync", str, where, base["sync"]),
        interval=get(d, "interval", int, where, base["interval"]),
        priority=get(d, "priority", int, where, base["priority"]),
        exclude=strings(d.get("exclude"), f"{where}.exclude"),
        read_only=get(d, "read_only", bool, where, base["read_only"]),
    )


def volumes_from_dict(data: Any, where: str) -> MultiScopeVolumes | None:
    """`multi_scope_volumes`, or the Python era's `volumes`: the same mapping (with
    `global`/`project` for the *_refs), or a plain list of environment volumes."""
    if data is None:
        return None
    if isinstance(data, list):
        return MultiScopeVolumes(environment=items(data, where, volume_from_dict))
    d = mapping(data, where)
    return MultiScopeVolumes(
        global_refs=strings(d.get("global_refs"), f"{where}.global_refs")
        + strings(d.get("global"), f"{where}.global"),
        project_refs=strings(d.get("project_refs"), f"{where}.project_refs")
        + strings(d.get("project"), f"{where}.project"),
        environment=items(d.get("environment"), f"{where}.environment", volume_from_dict),
    )
