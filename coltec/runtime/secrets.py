"""Secrets for `cs:up`: gathered on the host, delivered to the container as a file.

Sources: the caller's environment, plus `fnox eval` when fnox is installed. What is
delivered: the variables the workspace's worker needs — RCLONE_REMOTE_NAME,
RCLONE_BUCKET, rclone's RCLONE_CONFIG_<REMOTE>_* for the spec's remote, the crypt
password variable the spec names, TAILSCALE_AUTH_KEY (or COLTEC_TAILSCALE_AUTH_KEY) —
and nothing else.

They never go into `containerEnv` (the devcontainer CLI makes that `docker run -e
NAME=VALUE`, a command line every local user can read for as long as the container
lives). `write_file` puts them in a 0600 file in a 0700 folder of the caller's
private runtime directory (tmpfs where there is one); the template mounts that
folder read-only at /run/coltec/secrets, and the worker reads the file
(coltec_worker.declaration.secretfile, the one definition of its format). `docker inspect` then
shows a path. Writing it again at every `cs:up` is how a rotated secret takes effect.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shlex
import stat
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from coltec_worker.declaration import secretfile
from coltec_worker.declaration.source import load_yaml
from coltec_worker.declaration.spec import spec_from_dict
from coltec_worker.log import Redactor

from coltec import proc
from coltec.errors import SecretsError

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# COLTEC_TAILSCALE_AUTH_KEY: the predecessor's name for the tailnet key (the worker
# prefers it, sync/netenv.py)
ALWAYS = ("RCLONE_REMOTE_NAME", "RCLONE_BUCKET", "TAILSCALE_AUTH_KEY", "COLTEC_TAILSCALE_AUTH_KEY")
DIR_ENV = "COLTEC_SECRETS_DIR"  # what the template's mount reads (${localEnv:...})
RUNTIME_ENV = "COLTEC_RUNTIME_DIR"  # where the folders go (default: see runtime_dir)


def parse_exports(text: str) -> dict[str, str]:
    """`export NAME=value` lines (shell-quoted values, as `fnox eval` prints them)."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        if words[:1] == ["export"]:
            words = words[1:]
        for word in words:
            name, sep, value = word.partition("=")
            if sep and _NAME.match(name):
                found[name] = value
    return found


def from_fnox(cwd: str | None = None) -> dict[str, str]:
    """The variables `fnox eval` exports, or {} when fnox is not installed."""
    fnox = proc.which("fnox")
    if not fnox:
        return {}
    result = proc.run(
        [fnox, "eval"],
        cwd=cwd,
        timeout=60,
        hint="fnox could not load the secrets; check `fnox eval` by hand",
    )
    return parse_exports(result.stdout)


def source_env(base: Mapping[str, str] | None = None, cwd: str | None = None) -> dict[str, str]:
    """Where secrets are read from: base (default os.environ) + fnox's exports."""
    env = dict(os.environ if base is None else base)
    env.update(from_fnox(cwd))
    return env


def wanted(env: Mapping[str, str], remote_name: str, password_env: str) -> dict[str, str]:
    """The variables a workspace's worker needs, from env (pure)."""
    remote = env.get("RCLONE_REMOTE_NAME") or remote_name
    prefix = f"RCLONE_CONFIG_{remote.upper()}_"
    names = {*ALWAYS, password_env}
    return {k: v for k, v in env.items() if v != "" and (k in names or k.startswith(prefix))}


def for_workspace(spec_file: Path, env: Mapping[str, str]) -> dict[str, str]:
    """wanted() for the remote and crypt variable the workspace's spec declares."""
    rclone = spec_from_dict(load_yaml(spec_file).data).persistence.rclone_config
    return wanted(env, rclone.remote_name, rclone.encryption.password_env)


def runtime_dir(env: Mapping[str, str] | None = None) -> Path:
    """The caller's private runtime directory for coltec (created 0700, checked).

    COLTEC_RUNTIME_DIR, else $XDG_RUNTIME_DIR/coltec (a per-user tmpfs on systemd
    machines), else /run/coltec for root, else <tmp>/coltec-<uid>.
    """
    env = os.environ if env is None else env
    uid = os.getuid()
    if env.get(RUNTIME_ENV):
        base = Path(env[RUNTIME_ENV])
    elif env.get("XDG_RUNTIME_DIR") and Path(env["XDG_RUNTIME_DIR"]).is_dir():
        base = Path(env["XDG_RUNTIME_DIR"]) / "coltec"
    elif uid == 0 and Path("/run").is_dir():
        base = Path("/run/coltec")
    else:
        base = Path(tempfile.gettempdir()) / f"coltec-{uid}"
    return private_dir(base)


def private_dir(path: Path) -> Path:
    """path as a directory we own, mode 0700, not a symlink (refused otherwise)."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise SecretsError(
            f"{path} is not a directory of yours; refusing to put secrets there",
            f"remove it, or set {RUNTIME_ENV} to a private directory",
        )
    if stat.S_IMODE(info.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def folder_for(nexus_id: str, workspace: str, env: Mapping[str, str] | None = None) -> Path:
    """The folder mounted into one workspace's container (its secrets only)."""
    digest = hashlib.sha256(f"{nexus_id}\0{workspace}".encode()).hexdigest()[:16]
    return private_dir(runtime_dir(env) / digest)


def write_file(folder: Path, values: Mapping[str, str]) -> Path:
    """Write values to folder/secrets.json (0600, atomically); the file's path."""
    target = folder / secretfile.FILE_NAME
    fd, tmp = tempfile.mkstemp(prefix=".secrets-", dir=folder)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secretfile.dumps(values))
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target


def redactor(values: Iterable[str]) -> Redactor:
    """Hides these values (and the usual secret-named ones of the environment) in text."""
    return Redactor.from_env(os.environ, extra=values)
