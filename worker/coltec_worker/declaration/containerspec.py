"""The sections the sync worker only checks: the predecessor's `devcontainer`, `mounts`,
`secrets` and `persistence.mounts` (its JuiceFS mounts).

The predecessor rendered devcontainer.json from `devcontainer`; here the template owns
devcontainer.json, so these are accepted, checked (rules.py) and reported as not acted
upon (notices.py) — never silently dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from coltec_worker.declaration.fields import get, items, mapping, optional, schema_default, strings
from coltec_worker.record import TYPE_CHECKING, Record

if TYPE_CHECKING:
    from typing import Any


class TemplateRef(Record):
    name: str
    path: str
    overlays: tuple[str, ...] = schema_default("templateRef", "overlays")


class Image(Record):
    name: str
    digest: str | None = schema_default("image", "digest")


class Feature(Record):
    id: str
    options: object = schema_default("feature", "options")


class Mount(Record):
    source: str
    target: str
    type: str = schema_default("mount", "type")
    extra: str | None = schema_default("mount", "extra")


class Lifecycle(Record):
    post_create: tuple[str, ...] = ()
    post_start: tuple[str, ...] = ()


class Extensions(Record):
    recommended: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


class Settings(Record):
    values: Mapping[str, Any] = MappingProxyType({})


class Customizations(Record):
    extensions: Extensions = Extensions()
    settings: Settings = Settings()


class Devcontainer(Record):
    image: Image
    template: TemplateRef | None = None
    features: tuple[Feature, ...] = ()
    user: str = schema_default("devcontainer", "user")
    workspace_folder: str = schema_default("devcontainer", "workspace_folder")
    workspace_mount: str | None = schema_default("devcontainer", "workspace_mount")
    mounts: tuple[Mount, ...] = ()
    run_args: tuple[str, ...] = ()
    env: Mapping[str, str] = MappingProxyType({})
    lifecycle: Lifecycle = Lifecycle()
    customizations: Customizations = Customizations()


class Secret(Record):
    provider: str
    key: str
    mount_path: str
    read_only: bool = schema_default("secret", "read_only")


class PersistenceMount(Record):
    name: str
    target: str
    source: str
    type: str = schema_default("persistenceMount", "type")


# -- construction from plain data -------------------------------------------------


def mount_from_dict(data: Any, where: str) -> Mount:
    d = mapping(data, where)
    return Mount(
        source=get(d, "source", str, where, None),
        target=get(d, "target", str, where, None),
        type=get(d, "type", str, where, Mount._defaults["type"]),
        extra=optional(d, "extra", str, where),
    )


def secret_from_dict(data: Any, where: str) -> Secret:
    d = mapping(data, where)
    return Secret(
        provider=get(d, "provider", str, where, None),
        key=get(d, "key", str, where, None),
        mount_path=get(d, "mount_path", str, where, None),
        read_only=get(d, "read_only", bool, where, Secret._defaults["read_only"]),
    )


def persistence_mount_from_dict(data: Any, where: str) -> PersistenceMount:
    d = mapping(data, where)
    return PersistenceMount(
        name=get(d, "name", str, where, None),
        target=get(d, "target", str, where, None),
        source=get(d, "source", str, where, None),
        type=get(d, "type", str, where, PersistenceMount._defaults["type"]),
    )


def _feature(data: Any, where: str) -> Feature:
    d = mapping(data, where)
    return Feature(id=get(d, "id", str, where, None), options=d.get("options"))


def devcontainer_from_dict(data: Any, where: str = "$.devcontainer") -> Devcontainer | None:
    if data is None:
        return None
    d = mapping(data, where)
    image = mapping(d.get("image"), f"{where}.image")
    template = d.get("template")
    tpl = mapping(template, f"{where}.template")
    life = mapping(d.get("lifecycle"), f"{where}.lifecycle")
    custom = mapping(d.get("customizations"), f"{where}.customizations")
    ext = mapping(custom.get("extensions"), f"{where}.customizations.extensions")
    settings = mapping(custom.get("settings"), f"{where}.customizations.settings")
    env = mapping(d.get("env"), f"{where}.env")
    return Devcontainer(
        image=Image(
            name=get(image, "name", str, f"{where}.image", None),
            digest=optional(image, "digest", str, f"{where}.image"),
        ),
        template=None
        if template is None
        else TemplateRef(
            name=get(tpl, "name", str, f"{where}.template", None),
            path=get(tpl, "path", str, f"{where}.template", None),
            overlays=strings(tpl.get("overlays"), f"{where}.template.overlays"),
        ),
        features=items(d.get("features"), f"{where}.features", _feature),
        user=get(d, "user", str, where, Devcontainer._defaults["user"]),
        workspace_folder=get(
            d, "workspace_folder", str, where, Devcontainer._defaults["workspace_folder"]
        ),
        workspace_mount=optional(d, "workspace_mount", str, where),
        mounts=items(d.get("mounts"), f"{where}.mounts", mount_from_dict),
        run_args=strings(d.get("run_args"), f"{where}.run_args"),
        env={str(k): str(v) for k, v in env.items()},
        lifecycle=Lifecycle(
            post_create=strings(life.get("post_create"), f"{where}.lifecycle.post_create"),
            post_start=strings(life.get("post_start"), f"{where}.lifecycle.post_start"),
        ),
        customizations=Customizations(
            extensions=Extensions(
                recommended=strings(ext.get("recommended"), f"{where}.extensions.recommended"),
                optional=strings(ext.get("optional"), f"{where}.extensions.optional"),
            ),
            settings=Settings(values=dict(mapping(settings.get("values"), f"{where}.values"))),
        ),
    )
