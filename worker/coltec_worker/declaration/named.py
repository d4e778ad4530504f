"""Named remotes (`persistence.remotes`): the declaration -> rclone remotes. Pure.

Each declared remote becomes rclone remotes configured by environment only
(RCLONE_CONFIG_<NAME>_*, the rclone child's environment; never a config file, never
a connection string on argv):

- a storage remote `coltec_h<i>_store` of the declared `type` with its `options`;
- the remote the sync paths use, `coltec_r_<name>`: an alias of
  `store:bucket/path_prefix`, so argv, logs and status show `coltec_r_primary:org/p/x`
  and never a bucket taken from a variable;
- a crypt remote (`type: crypt`) `coltec_h<i>_crypt` over an alias `coltec_h<i>_under`
  of `wrap_remote`'s bucket (or crypt root) + `wrap_path`; the alias then points at
  `crypt:path_prefix`. The wrapped remote's own path_prefix is not applied: wrap_path
  is the folder inside its bucket, as the predecessor built it.

Objects of a storage remote live in `bucket`, under `path_prefix/remote_path` (the
predecessor's connection strings lost `bucket`, rclone's s3 backend has no such option).
`${VAR}`s in bucket and options are left as written here: the worker expands them at
run time (sync/remote_env.py), so a compiled plan never holds their values. Crypt
passwords are named (password_env, password2_env), read and obscured at run time too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from coltec_worker.declaration.remote import Remote
from coltec_worker.declaration.variables import variables_in
from coltec_worker.errors import ConfigError
from coltec_worker.record import TYPE_CHECKING

if TYPE_CHECKING:
    from typing import Any, Protocol

    class CryptLike(Protocol):  # storagespec.CryptSpec (read-only: a Record)
        @property
        def password_env(self) -> str: ...
        @property
        def password2_env(self) -> str | None: ...
        @property
        def filename_encryption(self) -> str: ...
        @property
        def directory_name_encryption(self) -> bool: ...

    class RemoteLike(Protocol):  # storagespec.RemoteSpec
        @property
        def type(self) -> str: ...
        @property
        def bucket(self) -> str | None: ...
        @property
        def path_prefix(self) -> str | None: ...
        @property
        def options(self) -> Mapping[str, Any]: ...
        @property
        def wrap_remote(self) -> str | None: ...
        @property
        def wrap_path(self) -> str | None: ...
        @property
        def crypt(self) -> CryptLike | None: ...


WHERE = "$.persistence.remotes"
_UNSAFE = re.compile(r"[^a-z0-9_]")


def env_prefix(rclone_name: str) -> str:
    return f"RCLONE_CONFIG_{rclone_name.upper()}_"


def option_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _join(*parts: str | None) -> str:
    return "/".join(p.strip("/") for p in parts if p and p.strip("/"))


class _Builder:
    """Collects the rclone environment of the named remotes a plan uses."""

    def __init__(self, declared: Mapping[str, RemoteLike]) -> None:
        self.declared = declared
        self.index = {name: i for i, name in enumerate(sorted(declared))}
        taken: set[str] = {"coltec_crypt"}
        self.visible: dict[str, str] = {}
        for name in sorted(declared):
            wanted = "coltec_r_" + _UNSAFE.sub("_", name.lower())
            if wanted in taken:  # 'a-b' beside 'a_b': the second by its index
                wanted = f"coltec_h{self.index[name]}_alias"
            taken.add(wanted)
            self.visible[name] = wanted

    def _put(self, out: dict[str, Any], var: str, text: str, where: str) -> None:
        if variables_in(text):
            out["expand"][var] = text
            out["where"][var] = where
        else:
            out["env"][var] = text

    def base(self, name: str, out: dict[str, Any], chain: tuple[str, ...]) -> tuple[str, str]:
        """(the rclone location of `name`'s bucket or crypt root, the declared field a
        variable in it comes from); its configuration is added to `out`."""
        if name in chain:
            raise ConfigError(
                f"{WHERE}.{name}: crypt remotes wrap each other in a cycle "
                f"({' -> '.join((*chain, name))})",
                hint="let the innermost crypt remote wrap a storage remote",
            )
        decl = self.declared.get(name)
        if decl is None:
            raise ConfigError(
                f"{WHERE}: no remote named {name!r}", hint="names: " + ", ".join(self.declared)
            )
        i, where = self.index[name], f"{WHERE}.{name}"
        if decl.type != "crypt":
            store = f"coltec_h{i}_store"
            self._put(out, env_prefix(store) + "TYPE", decl.type, f"{where}.type")
            for key, value in sorted(decl.options.items()):
                var = env_prefix(store) + key.upper()
                self._put(out, var, option_text(value), f"{where}.options.{key}")
            bucket = decl.bucket or ""
            if variables_in(bucket):  # checked as a bucket name once expanded
                out["buckets"][f"{where}.bucket"] = bucket
            return f"{store}:{bucket}", f"{where}.bucket"
        crypt, settings = f"coltec_h{i}_crypt", decl.crypt
        if decl.wrap_remote is None or settings is None:
            raise ConfigError(
                f"{where}: a crypt remote needs wrap_remote and crypt.password_env",
                hint="name the remote it encrypts into and the password's variable",
            )
        inner, inner_where = self.base(decl.wrap_remote, out, (*chain, name))
        under = f"coltec_h{i}_under"
        target = inner + ("" if inner.endswith(":") else "/") + _join(decl.wrap_path)
        out["env"][env_prefix(under) + "TYPE"] = "alias"
        self._put(out, env_prefix(under) + "REMOTE", target.rstrip("/"), inner_where)
        out["unders"].append(f"{under}:")
        p = env_prefix(crypt)
        out["env"][p + "TYPE"] = "crypt"
        out["env"][p + "REMOTE"] = f"{under}:"
        out["env"][p + "FILENAME_ENCRYPTION"] = settings.filename_encryption
        out["env"][p + "DIRECTORY_NAME_ENCRYPTION"] = option_text(
            settings.directory_name_encryption
        )
        for key, value in sorted(decl.options.items()):
            self._put(out, p + key.upper(), option_text(value), f"{where}.options.{key}")
        out["obscure"][p + "PASSWORD"] = settings.password_env
        out["where"][p + "PASSWORD"] = f"{where}.crypt.password_env"
        if settings.password2_env:
            out["obscure"][p + "PASSWORD2"] = settings.password2_env
            out["where"][p + "PASSWORD2"] = f"{where}.crypt.password2_env"
        out["password_env"] = settings.password_env  # the outermost one, set last
        return f"{crypt}:", f"{where}.wrap_remote"

    def remote(self, name: str) -> Remote:
        out: dict[str, Any] = {
            "env": {},
            "expand": {},
            "where": {},
            "obscure": {},
            "buckets": {},
            "unders": [],
        }
        decl = self.declared[name]
        base, base_where = self.base(name, out, ())
        alias = self.visible[name]
        sep = "" if base.endswith(":") else "/"
        target = (base + sep + _join(decl.path_prefix)).rstrip("/")
        out["env"][env_prefix(alias) + "TYPE"] = "alias"
        self._put(out, env_prefix(alias) + "REMOTE", target, base_where)
        shown = _join(decl.bucket, decl.path_prefix) if decl.type != "crypt" else ""
        crypt = decl.crypt if decl.type == "crypt" else None
        description = f"remote {name!r} ({decl.type}" + (f" {shown}" if shown else "")
        if crypt is not None:
            description += f" over {decl.wrap_remote!r}" + (
                f" {_join(decl.wrap_path)}" if decl.wrap_path else ""
            )
        return Remote(
            root=f"{alias}:",
            description=description + ")",
            env=out["env"],
            crypt_password_env=out.get("password_env"),
            expand=out["expand"],
            obscure=out["obscure"],
            where=out["where"],
            under=out["unders"][-1] if out["unders"] else None,
            buckets=out["buckets"],
            name=name,
        )


def compile_remotes(declared: Mapping[str, RemoteLike], used: Iterable[str]) -> dict[str, Remote]:
    """The Remote of every name in `used` (a declared remote name), by name."""
    builder = _Builder(declared)
    return {name: builder.remote(name) for name in sorted(set(used))}


def declared_variables(declared: Mapping[str, RemoteLike]) -> dict[str, str]:
    """Every variable the named remotes name, with the first field naming it: the
    `${VAR}`s of buckets and options, crypt password_env and password2_env (what cs:up
    delivers)."""
    out: dict[str, str] = {}
    for name in sorted(declared):
        decl, where = declared[name], f"{WHERE}.{name}"
        fields = [(decl.bucket or "", f"{where}.bucket")]
        fields += [
            (option_text(v), f"{where}.options.{k}") for k, v in sorted(decl.options.items())
        ]
        for text, field in fields:
            for var in variables_in(text):
                out.setdefault(var, field)
        if decl.type == "crypt" and decl.crypt is not None:
            out.setdefault(decl.crypt.password_env, f"{where}.crypt.password_env")
            if decl.crypt.password2_env:
                out.setdefault(decl.crypt.password2_env, f"{where}.crypt.password2_env")
    return out
