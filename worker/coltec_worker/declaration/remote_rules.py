"""The rules of named remotes, with the predecessor's meaning (its `validate_remotes`).

- With sync paths (or environment volumes) in the predecessor's form, some remote must
  be declared: persistence.remotes (or our rclone_config).
- default_remote, every sync[].remote and a crypt remote's wrap_remote name a key of
  persistence.remotes; once remotes are declared, every path has a remote (its own or
  default_remote).
- An s3 remote has a bucket; a crypt remote has wrap_remote and crypt, wraps an existing
  remote, and no chain of wraps comes back to itself.
- Names of password variables must look like variable names (never echoed).

As in the predecessor, the remotes are checked only when something syncs; a per-path
`remote` that names nothing is refused in every form.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator, Sequence

from coltec_worker.declaration import env_rules
from coltec_worker.declaration.rules_base import ENV_NAME, Finding, remote_segment_problem, shown
from coltec_worker.declaration.spec import SyncPath, WorkspaceSpec
from coltec_worker.declaration.storagespec import RemoteSpec

REMOTES = "$.persistence.remotes"


def _hint_for(name: str, remotes: Sequence[str]) -> str:
    if not remotes:
        return "declare it under persistence.remotes, or remove remote: to use rclone_config"
    close = difflib.get_close_matches(name, list(remotes), n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    return f"use one of: {', '.join(remotes)}"


def _env_name_findings(path: str, value: str | None) -> Iterator[Finding]:
    if value is not None and not ENV_NAME.fullmatch(value):
        # Never echo the value: it may be the secret itself.
        yield Finding(
            path,
            "this must name an environment variable, and the value does not look like "
            "one (it may be a literal secret; it is not shown)",
            "put the secret in an environment variable, e.g. RCLONE_CRYPT_PASSWORD, "
            "and write that name here",
            "password-env",
        )


def _wrap_cycle(name: str, remotes: dict[str, RemoteSpec]) -> bool:
    seen = {name}
    current = remotes[name].wrap_remote
    while current is not None and current in remotes and remotes[current].type == "crypt":
        if current in seen:
            return True
        seen.add(current)
        current = remotes[current].wrap_remote
    return current in seen


def _store(name: str, remotes: dict[str, RemoteSpec], depth: int = 0) -> tuple[str, str]:
    """(storage id, folder) where remote `name`'s root lands; a crypt remote lands in its
    wrap_remote's wrap_path. Unknown names and cycles are other rules' findings."""
    remote = remotes.get(name)
    if remote is None or depth > len(remotes):
        return f"?{name}", ""
    if remote.type == "crypt" and remote.wrap_remote is not None:
        store, folder = _store(remote.wrap_remote, remotes, depth + 1)
        return store, _join(folder, remote.wrap_path or "")
    return f"{remote.type}:{remote.bucket or name}", (remote.path_prefix or "").strip("/")


def _join(a: str, b: str) -> str:
    return "/".join(p for p in (a.strip("/"), b.strip("/")) if p)


def locator(spec: WorkspaceSpec) -> Callable[[SyncPath, str], str]:
    """Where a sync path's resolved remote_path lands: storage, then the full folder —
    the key the remote-overlap rule compares (two buckets never overlap)."""
    pers = spec.persistence
    remotes = dict(pers.remotes)

    def locate(sync: SyncPath, resolved: str) -> str:
        name = sync.remote or pers.default_remote
        if not remotes or name is None:
            return f"rclone_config\x00{resolved}"
        store, folder = _store(name, remotes)
        return f"{store}\x00{_join(folder, resolved)}"

    return locate


def _folder_findings(path: str, value: str | None, what: str) -> Iterator[Finding]:
    if value is None:
        return
    for segment in value.strip("/").split("/") if value.strip("/") else []:
        why = remote_segment_problem(segment)
        if why:
            yield Finding(
                path,
                f"{what} {shown(value)!r} has {why}",
                "use slugs in remote paths: letters, digits, '-', '_', '.'",
                "remote-path",
            )
            return


def check_remote(
    name: str, remote: RemoteSpec, remotes: dict[str, RemoteSpec]
) -> Iterator[Finding]:
    here = f"{REMOTES}.{name}"
    yield from _folder_findings(f"{here}.path_prefix", remote.path_prefix, "path_prefix")
    yield from _folder_findings(f"{here}.wrap_path", remote.wrap_path, "wrap_path")
    if remote.type == "s3" and remote.bucket is None:
        yield Finding(
            here,
            f"remote '{shown(name)}' has type s3 but no bucket",
            "add bucket: NAME (or bucket: ${VARIABLE}, read from the environment)",
            "s3-bucket",
        )
    bucket = remote.bucket
    if bucket is not None and "$" not in bucket:
        why = env_rules.bucket_problem(bucket)
        if why:
            yield Finding(
                f"{here}.bucket",
                f"bucket {shown(bucket)!r} {why}",
                "give a bucket name such as my-bucket",
                "s3-bucket",
            )
    if remote.type == "crypt":
        if remote.wrap_remote is None:
            yield Finding(
                here,
                f"remote '{shown(name)}' has type crypt but no wrap_remote",
                "add wrap_remote: the name of the remote that stores the encrypted data",
                "crypt-wrap",
            )
        elif remote.wrap_remote not in remotes:
            yield Finding(
                f"{here}.wrap_remote",
                f"remote '{shown(name)}' wraps remote '{shown(remote.wrap_remote)}', "
                "which does not exist",
                _hint_for(remote.wrap_remote, [r for r in remotes if r != name]),
                "crypt-wrap",
            )
        elif _wrap_cycle(name, remotes):
            yield Finding(
                f"{here}.wrap_remote",
                f"remote '{shown(name)}' wraps itself (a circular wrap_remote chain)",
                "wrap a storage remote such as s3",
                "crypt-wrap",
            )
        if remote.crypt is None:
            yield Finding(
                here,
                f"remote '{shown(name)}' has type crypt but no crypt settings",
                "add crypt: {password_env: VARIABLE} (and password2_env for the salt)",
                "crypt-config",
            )
    if remote.crypt is not None:
        yield from _env_name_findings(f"{here}.crypt.password_env", remote.crypt.password_env)
        yield from _env_name_findings(f"{here}.crypt.password2_env", remote.crypt.password2_env)


def _path_remote(
    here: str, sync: SyncPath, default: str | None, remotes: dict[str, RemoteSpec]
) -> Iterator[Finding]:
    if sync.remote is not None:
        if sync.remote not in remotes:
            looks_like_path = "/" in sync.remote or "{" in sync.remote
            yield Finding(
                f"{here}.remote",
                f"sync path '{shown(sync.name)}' names remote '{shown(sync.remote)}', "
                + ("which does not exist" if remotes else "but persistence.remotes is empty"),
                "remote: names a remote; the folder in the bucket is remote_path"
                if looks_like_path
                else _hint_for(sync.remote, list(remotes)),
                "remote-exists",
            )
        return
    if remotes and default is None:
        yield Finding(
            f"{here}.remote",
            f"sync path '{shown(sync.name)}' has no remote and no default_remote is set",
            f"add remote: one of {', '.join(remotes)}, or set persistence.default_remote",
            "remote-exists",
        )


# Ways a predecessor file says where its data goes without named remotes: the Python
# era's rclone_config, and its volumes (synced by that era's rclone_config/environment).
OLDER_REMOTE_KEYS = frozenset({"rclone_config", "volumes", "multi_scope_volumes"})


def check_remotes(
    spec: WorkspaceSpec, volumes_at: str, written: frozenset[str] | None = None
) -> Iterator[Finding]:
    """`written`: the keys the file writes under persistence (None: guess from defaults)."""
    pers = spec.persistence
    remotes = dict(pers.remotes)
    volumes = pers.volume_paths()
    for i, sync in enumerate(pers.sync):
        if sync.remote is not None and sync.remote not in remotes:
            yield from _path_remote(f"$.persistence.sync[{i}]", sync, None, remotes)
    if not pers.sync and not volumes:
        return  # the predecessor checked remotes only when something syncs
    if written is None:
        older = pers.rclone_config != type(pers.rclone_config)() or bool(volumes)
    else:
        older = bool(written & OLDER_REMOTE_KEYS)
    if not remotes:
        if spec.predecessor_form and not older:
            yield Finding(
                "$.persistence",
                "persistence has sync paths but no remotes are configured",
                "declare persistence.remotes and default_remote (e.g. an s3 remote with "
                "a bucket), as the predecessor required",
                "remotes-required",
            )
        if pers.default_remote is not None:
            yield Finding(
                "$.persistence.default_remote",
                f"default_remote '{shown(pers.default_remote)}' does not exist in remotes "
                "(persistence.remotes is empty)",
                "declare it under persistence.remotes, or remove default_remote",
                "remote-exists",
            )
        return
    if pers.default_remote is not None and pers.default_remote not in remotes:
        yield Finding(
            "$.persistence.default_remote",
            f"default_remote '{shown(pers.default_remote)}' does not exist in remotes",
            _hint_for(pers.default_remote, list(remotes)),
            "remote-exists",
        )
    for name, remote in remotes.items():
        yield from check_remote(name, remote, remotes)
    for i, sync in enumerate(pers.sync):
        if sync.remote is None:
            yield from _path_remote(f"$.persistence.sync[{i}]", sync, pers.default_remote, remotes)
    if volumes and pers.default_remote is None:
        yield Finding(
            f"{volumes_at}[0]",
            "environment volumes sync to default_remote, and none is set",
            f"set persistence.default_remote to one of {', '.join(remotes)}",
            "remote-exists",
        )
