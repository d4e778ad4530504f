"""The rules of the sections the worker only checks (devcontainer, mounts, secrets,
persistence.mounts), as the predecessor's models held them: targets inside the
container are absolute, a target is mounted once, template paths are relative.
"""

from __future__ import annotations

from collections.abc import Iterator

from coltec_worker.declaration.rules_base import Finding, shown
from coltec_worker.declaration.spec import WorkspaceSpec


def _absolute(path: str, value: str, what: str) -> Iterator[Finding]:
    if not value.startswith("/"):
        yield Finding(
            path,
            f"{what} {shown(value)!r} must be an absolute path inside the container",
            f"write it from the root, e.g. /{shown(value).lstrip('./')}",
            "absolute-target",
        )


def check_containers(spec: WorkspaceSpec) -> Iterator[Finding]:
    dev = spec.devcontainer
    targets: dict[str, str] = {}
    if dev is not None:
        yield from _absolute(
            "$.devcontainer.workspace_folder", dev.workspace_folder, "workspace_folder"
        )
        for i, mount in enumerate(dev.mounts):
            here = f"$.devcontainer.mounts[{i}].target"
            yield from _absolute(here, mount.target, "mount target")
            targets.setdefault(mount.target, here)
        if dev.template is not None:
            for j, rel in enumerate((dev.template.path, *dev.template.overlays)):
                at = "path" if j == 0 else f"overlays[{j - 1}]"
                if rel.startswith("/"):
                    yield Finding(
                        f"$.devcontainer.template.{at}",
                        f"template path {shown(rel)!r} must be relative to the repository",
                        "write it without the leading '/'",
                        "relative-template",
                    )
    for i, mount in enumerate(spec.mounts):
        here = f"$.mounts[{i}].target"
        yield from _absolute(here, mount.target, "mount target")
        if mount.target in targets:
            yield Finding(
                here,
                f"mount target {shown(mount.target)} is also mounted by {targets[mount.target]}",
                "mount each target once: remove one of the two",
                "duplicate-target",
            )
        targets.setdefault(mount.target, here)
    for i, secret in enumerate(spec.secrets):
        yield from _absolute(f"$.secrets[{i}].mount_path", secret.mount_path, "secret mount_path")
    for i, pm in enumerate(spec.persistence.mounts):
        yield from _absolute(
            f"$.persistence.mounts[{i}].target", pm.target, "persistence mount target"
        )
