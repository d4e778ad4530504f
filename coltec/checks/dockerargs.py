"""`docker run`/`create` options as canonical tokens the policy's patterns match.

The same request has many spellings: `-v /:/h`, `-itv /:/h`, `--volume=/:/h`, `--mount
"type=bind,""source=/"",target=/h"`, a local volume whose `device` is `/`, `/proc/1/root`
or a symlink to `/` as the source. Each becomes one token — `--privileged`,
`--cap-add=SYS_ADMIN`, `--security-opt=seccomp=unconfined`, `--pid=host`,
`--volume=SOURCE:TARGET` — and a bind source also in its resolved form, so one pattern
covers every spelling. The flag table is docker's own (pflag): a boolean flag takes no
value, every other flag takes one, and the first word that is not an option is the image.
"""

from __future__ import annotations

import csv
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

# docker run/create flags that take no value (docker 28); every other flag takes one.
BOOLEAN = {
    "--detach", "--interactive", "--tty", "--init", "--privileged", "--read-only", "--rm",
    "--publish-all", "--sig-proxy", "--oom-kill-disable", "--no-healthcheck",
    "--disable-content-trust", "--quiet", "--help", "--use-api-socket",
}  # fmt: skip
SHORT = {
    "-a": "--attach", "-c": "--cpu-shares", "-e": "--env", "-h": "--hostname", "-l": "--label",
    "-m": "--memory", "-p": "--publish", "-u": "--user", "-v": "--volume", "-w": "--workdir",
    "-d": "--detach", "-i": "--interactive", "-t": "--tty", "-P": "--publish-all",
    "-q": "--quiet",
}  # fmt: skip
ALIASES = {"--net": "--network", "--cap_add": "--cap-add"}
# The engine's API socket, as `--use-api-socket` mounts it.
API_SOCKET = "/var/run/docker.sock"


@dataclass(frozen=True)
class Option:
    tokens: tuple[str, ...]  # canonical forms; the first is the one shown
    given: str  # as written
    index: int  # position of the flag in the argument list


def bind_sources(path: str, base: Path | None, *, resolve: bool) -> tuple[str, ...]:
    """A bind source as the engine sees it: normalized (`//x/./y/..` is `/x`), relative
    ones from `base`, and (engine on this machine) with symlinks resolved."""
    if base is not None and path.startswith("."):
        path = str(base / path)
    if not path.startswith("/"):
        return (path,)  # a named volume
    normal = "/" + posixpath.normpath(path).lstrip("/")
    out = [normal]
    if resolve:
        try:  # /proc/self/root -> /, a committed link -> its target
            real = os.path.realpath(normal)
        except OSError:  # a link this user may not read (/proc/1/root): the pattern decides
            real = normal
        if real not in out:
            out.append(real)
    return tuple(out)


def _volume_tokens(src: str, rest: str, base: Path | None, resolve: bool) -> tuple[str, ...]:
    return tuple(f"--volume={s}:{rest}" for s in bind_sources(src, base, resolve=resolve))


def mount_fields(value: str) -> dict[str, str]:
    """`--mount` is CSV (encoding/csv, like docker): `"source=/"` is one quoted field."""
    try:
        rows = list(csv.reader([value.strip()], skipinitialspace=True))
    except csv.Error:
        rows = [value.split(",")]
    fields: dict[str, str] = {}
    for part in rows[0] if rows else []:
        key, _, val = part.strip().partition("=")
        key = key.strip().lower()
        if key == "volume-opt":  # volume-opt=device=/ of the local driver
            opt, _, opt_val = val.partition("=")
            fields[f"opt:{opt.strip().lower()}"] = opt_val.strip()
        else:
            fields[key] = val.strip()
    return fields


def mount_tokens(value: str, base: Path | None = None, *, resolve: bool) -> tuple[str, ...]:
    """`--mount` as --volume tokens: a bind's source, or a local volume bound to a path."""
    fields = mount_fields(value)
    src = fields.get("source") or fields.get("src") or ""
    dst = fields.get("target") or fields.get("destination") or fields.get("dst") or ""
    kind = fields.get("type", "volume")
    device = fields.get("opt:device", "")
    if kind == "volume" and device:  # the local driver's bind: `o=bind,device=/`
        return (*_volume_tokens(device, dst, base, resolve), f"--mount={value.strip()}")
    if kind in ("bind", "volume") or src.startswith("/"):
        return _volume_tokens(src, dst, base, resolve)
    return (f"--mount=type={kind}:{dst}",)


def _security_opt(value: str) -> str:
    key, sep, rest = value.strip().partition("=")
    if not sep:
        key, sep, rest = value.strip().partition(":")  # seccomp:unconfined, docker's old form
    return (
        f"--security-opt={key.strip().lower()}={rest.strip().lower()}"
        if sep
        else (f"--security-opt={key.strip().lower()}")
    )


def canonical(
    flag: str, value: str | None, base: Path | None = None, *, resolve: bool = False
) -> tuple[str, ...]:
    """One option's tokens; () when it turns something off (`--privileged=false`)."""
    flag = ALIASES.get(SHORT.get(flag, flag), SHORT.get(flag, flag))
    if flag in BOOLEAN:
        if value is not None and value.strip().lower() in ("false", "0", "f"):
            return ()
        if flag == "--use-api-socket":
            return (*_volume_tokens(API_SOCKET, API_SOCKET, None, resolve), flag)
        return (flag,)
    if value is None:
        return (flag,)
    value = value.strip()
    if flag == "--volume":
        src, sep, rest = value.partition(":")
        return _volume_tokens(src, rest, base, resolve) if sep else (f"--volume={value}",)
    if flag == "--mount":
        return mount_tokens(value, base, resolve=resolve)
    if flag in ("--cap-add", "--cap-drop"):
        caps = [c.strip().upper().removeprefix("CAP_") for c in value.split(",") if c.strip()]
        return tuple(f"{flag}={c}" for c in caps)
    if flag == "--security-opt":
        return (_security_opt(value),)
    if flag in ("--pid", "--ipc", "--uts", "--userns", "--cgroupns", "--network"):
        return (f"{flag}={value.lower()}",)
    return (f"{flag}={value}",)


def parse(
    args: list[str], base: Path | None = None, *, resolve: bool = False, options_only: bool = True
) -> tuple[list[Option], int | None]:
    """The options of a docker run/create argument list, and the image's index (None: none).

    `options_only`: a list of options alone (devcontainer.json runArgs): a word that is not
    an option is skipped, not taken for the image.
    """
    out: list[Option] = []
    i = 0
    while i < len(args):
        at, arg = i, args[i]
        i += 1
        if arg == "--":
            return out, (i if i < len(args) else None)
        if arg.startswith("--"):
            flag, sep, value = arg.partition("=")
            name = ALIASES.get(flag, flag)
            if not sep and name not in BOOLEAN and i < len(args):
                value, i = args[i], i + 1
            tokens = canonical(
                flag, value if sep or name not in BOOLEAN else None, base, resolve=resolve
            )
            out.append(Option(tokens, arg if sep or name in BOOLEAN else f"{arg} {value}", at))
        elif arg.startswith("-") and len(arg) > 1:
            # pflag short flags combine: -itv /:/h, -itv/:/h, -e=X=1
            for k in range(1, len(arg)):
                short = "-" + arg[k]
                long = SHORT.get(short, short)
                if long in BOOLEAN:
                    out.append(Option(canonical(long, None), arg, at))
                    continue
                value = arg[k + 1 :].removeprefix("=")
                if not value and i < len(args):
                    value, i = args[i], i + 1
                out.append(
                    Option(
                        canonical(long, value, base, resolve=resolve), f"{arg} {value}".strip(), at
                    )
                )
                break
        elif not options_only:
            return out, at
    return out, None
