"""Semantic rules beyond the schema. Pure: spec in, (json path, message, hint) out."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterator, Sequence

from coltec_worker.declaration import container_rules, remote_rules
from coltec_worker.declaration.remote import BACKUP_ROOT, reserved_remote_name
from coltec_worker.declaration.rules_base import (
    DNS_LABEL,
    ENV_NAME,
    SLUG,
    TAG,
    Finding,
    remote_segment_problem,
    shown,
)
from coltec_worker.declaration.rules_base import local_path_problem as _local_path_problem
from coltec_worker.declaration.spec import PLACEHOLDERS, SyncPath, WorkspaceSpec, placeholders_in
from coltec_worker.declaration.variables import variables_in

__all__ = ["DNS_LABEL", "ENV_NAME", "SLUG", "TAG", "Finding", "remote_segment_problem", "shown"]


def _as_written(path: str) -> str:
    return path


def resolve_checked(sync: SyncPath, values: dict[str, str]) -> tuple[str | None, str, str]:
    """(resolved remote path or None, message, hint) for one sync path."""
    template = sync.remote_path
    used = variables_in(template)
    if used:  # the predecessor's guide wrote users/${USER}/dotfiles; its daemon kept it
        return (
            None,
            f"remote path uses ${shown(used[0])}: environment variables are not expanded "
            "in remote_path",
            "use {user_id} (your user config's user_id, else $USER)"
            if used[0] in ("USER", "LOGNAME")
            else "use the placeholders {org}, {project}, {env}, {name}, {user_id}",
        )
    try:
        names = placeholders_in(template)
    except ValueError as exc:
        return (
            None,
            f"remote path has {exc}",
            "write placeholders as {org}; a literal brace is '{{'",
        )
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is not None and (spec or conversion):
            written = (
                "{"
                + name
                + (f"!{conversion}" if conversion else "")
                + (f":{spec}" if spec else "")
                + "}"
            )
            return (
                None,
                f"placeholder {shown(written)} has a conversion or format spec",
                f"write it plainly as {{{name}}}",
            )
    unknown = [n for n in names if n not in PLACEHOLDERS]
    if unknown:
        known = ", ".join("{" + p + "}" for p in PLACEHOLDERS)
        return None, f"unknown placeholder {{{shown(unknown[0])}}}", f"use only {known}"
    if any(n == "" or not n.isidentifier() for n in names):
        return None, "empty or positional placeholder {}", "name the placeholder, e.g. {org}"
    resolved = template.format_map(values)
    for segment in resolved.split("/"):
        why = remote_segment_problem(segment)
        if why:
            return (
                None,
                f"remote path resolves to '{shown(resolved)}', which has {why}",
                "use slugs in remote paths: letters, digits, '-', '_', '.'",
            )
    if resolved.split("/", 1)[0] == BACKUP_ROOT:
        return (
            None,
            f"remote path {shown(resolved)} is inside the backup folder {BACKUP_ROOT}",
            "choose another prefix: the worker keeps its backups there",
        )
    return resolved, "", ""


def _nested(a: str, b: str) -> bool:
    return a == b or a.startswith(b.rstrip("/") + "/") or b.startswith(a.rstrip("/") + "/")


Locate = Callable[[SyncPath, str], str]


def _same_place(sync: SyncPath, resolved: str) -> str:
    return resolved


def check_sync_paths(
    items: Sequence[SyncPath],
    base: str,
    values: dict[str, str],
    others: Sequence[tuple[str, SyncPath, str | None]] = (),
    locate: Locate = _same_place,
    resolve: Callable[[str], str] = _as_written,
) -> Iterator[Finding]:
    """Rules for a list of sync paths at json path `base` (e.g. '$.persistence.sync').

    `others` are already-checked paths (json path, item, resolved remote) from another
    list — the workspace's, when checking a user's extra paths — for collisions.
    `locate` turns a resolved remote path into where it lands (storage and full path,
    named remotes.locator), so paths on different buckets never collide.
    `resolve` gives the folder a local path really is (the pipeline passes realpath for
    a user's extra paths: symlinks and /proc/self/root resolved); the rules about '/',
    kernel filesystems and overlaps then hold for that folder too.
    """
    seen: list[tuple[str, SyncPath, str | None]] = list(others)
    for i, sync in enumerate(items):
        here = f"{base}[{i}]"
        local_bad = _local_path_problem(sync.path)
        real = sync.path
        if local_bad:
            yield Finding(f"{here}.path", local_bad[0], local_bad[1], "local-path")
        else:
            real = resolve(sync.path)
            real_bad = None if real == sync.path else _local_path_problem(real)
            if real_bad:
                local_bad = real_bad
                yield Finding(
                    f"{here}.path",
                    f"local path {shown(sync.path)} resolves to {shown(real)}: {real_bad[0]}",
                    real_bad[1],
                    "local-path",
                )
        resolved, message, hint = resolve_checked(sync, values)
        if resolved is None:
            yield Finding(f"{here}.remote_path", message, hint, "remote-path")
        for other_path, other, other_remote in seen:
            if other.name == sync.name:
                yield Finding(
                    f"{here}.name",
                    f"sync name '{shown(sync.name)}' is already used by {other_path}",
                    "give every sync path its own name",
                    "unique-name",
                )
            other_real = resolve(other.path) if _local_path_problem(other.path) is None else ""
            if not local_bad and other_real and _nested(real, other_real):
                how = "the same as" if real == other_real else "nested with"
                said = sync.path if real == sync.path else f"{sync.path} (really {real})"
                yield Finding(
                    f"{here}.path",
                    f"local path {said} is {how} {other.path} ({other_path})",
                    "sync each folder once; merge them or use exclude",
                    "local-overlap",
                )
            if (
                resolved
                and other_remote
                and _nested(locate(sync, resolved), locate(other, other_remote))
            ):
                yield Finding(
                    f"{here}.remote_path",
                    f"remote path {resolved} shares or nests "
                    f"the prefix of {other_path} ({other_remote})",
                    "give each sync path its own remote prefix",
                    "remote-overlap",
                )
        seen.append((here, sync, resolved))


def _tag_name(tag: str) -> str:
    """The name part of a malformed tag, as a suggestion: 'Tag:My Team' -> 'my-team'."""
    name = tag.lower().removeprefix("tag:")
    name = re.sub(r"[^a-z0-9-]+", "-", name).strip("-")
    return name or "devcontainer"


VOLUMES = "$.persistence.multi_scope_volumes.environment"
# A volume's fields by the sync path field it becomes (Persistence.volume_paths).
VOLUME_FIELDS = {".path": ".mount_path", ".direction": ".sync"}


def _as_volume(finding: Finding) -> Finding:
    for ours, theirs in VOLUME_FIELDS.items():
        if finding.path.endswith(ours):
            return finding._replace(path=finding.path.removesuffix(ours) + theirs)
    return finding


def check_spec(
    spec: WorkspaceSpec,
    user_id: str = "user",
    volumes_at: str = VOLUMES,
    written: frozenset[str] | None = None,
) -> Iterator[Finding]:
    """Every semantic rule of a workspace spec. `user_id` stands in for {user_id};
    `volumes_at` is where the file keeps its environment volumes (the Python era's
    `$.persistence.volumes` list, or `...multi_scope_volumes.environment`); `written`
    the keys the file writes under persistence (remote_rules.check_remotes)."""
    meta = spec.metadata
    for key in ("org", "project"):
        value = getattr(meta, key)
        if not SLUG.fullmatch(value):
            yield Finding(
                f"$.metadata.{key}",
                f"{key} '{shown(value)}' is not a slug",
                "use lowercase letters, digits and '-', starting with a letter or digit",
                "slug",
            )
    pers = spec.persistence
    volumes = pers.volume_paths()
    if pers.enabled and pers.mode == "replicated" and not pers.sync and not volumes:
        yield Finding(
            "$.persistence.sync",
            "replicated persistence needs at least one sync path",
            "add an item under persistence.sync, or set persistence.enabled: false",
            "sync-required",
        )
    if pers.enabled and pers.mode == "mounted" and not (pers.sync or volumes or pers.mounts):
        # The predecessor's Python era: mounted mode needs a mount. Its default mode is
        # mounted, so this is also what an enabled persistence with nothing in it means.
        yield Finding(
            "$.persistence.sync",
            "mounted persistence (the default mode) has nothing to persist: "
            "no persistence.mounts and no sync paths",
            "to sync folders, set mode: replicated and add persistence.sync items; "
            "or set persistence.enabled: false",
            "persistence-empty",
        )
    values = spec.placeholder_values(user_id or "user")
    locate = remote_rules.locator(spec)
    yield from check_sync_paths(pers.sync, "$.persistence.sync", values, locate=locate)
    if volumes:
        taken = [
            (f"$.persistence.sync[{i}]", s, resolve_checked(s, values)[0])
            for i, s in enumerate(pers.sync)
        ]
        for f in check_sync_paths(volumes, volumes_at, values, taken, locate):
            yield _as_volume(f)
    yield from remote_rules.check_remotes(spec, volumes_at, written)
    yield from container_rules.check_containers(spec)
    reserved = reserved_remote_name(pers.rclone_config.remote_name)
    if reserved:
        yield Finding(
            "$.persistence.rclone_config.remote_name",
            f"remote_name '{shown(pers.rclone_config.remote_name)}' {reserved}",
            "choose another name, e.g. r2",
            "remote-name",
        )
    enc = pers.rclone_config.encryption
    if not ENV_NAME.fullmatch(enc.password_env):
        # Never echo the value: it may be the secret itself.
        yield Finding(
            "$.persistence.rclone_config.encryption.password_env",
            "password_env must name an environment variable, and this value does not "
            "look like one (it may be a literal secret; it is not shown)",
            "put the password in an environment variable, e.g. "
            "COLTEC_CRYPT_PASSWORD, and write that name here",
            "password-env",
        )
    net = spec.networking
    for i, tag in enumerate(net.tags):
        if not TAG.fullmatch(tag):
            yield Finding(
                f"$.networking.tags[{i}]",
                f"tag '{shown(tag)}' is not of the form tag:name",
                f"write it as tag:{_tag_name(tag)}",
                "tag",
            )
    if net.enabled:
        host = net.hostname_prefix + spec.name
        if len(host) > 63 or not DNS_LABEL.fullmatch(host):
            yield Finding(
                "$.networking.hostname_prefix",
                f"hostname '{host}' is not a valid DNS label "
                f"({len(host)} chars; at most 63, letters, digits, '-', no '-' at ends)",
                "shorten hostname_prefix or the workspace name",
                "hostname",
            )


# -- the environment ------------------------------------------------------------------
