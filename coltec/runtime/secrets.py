"""Secrets for `cs:up`: gathered on the host, delivered to the container as a file.

Sources: the caller's environment, plus `fnox eval` when fnox is installed. What is
delivered: the variables the workspace's worker needs — RCLONE_REMOTE_NAME,
RCLONE_BUCKET, rclone's RCLONE_CONFIG_<REMOTE>_* for the spec's rclone_config remote,
TAILSCALE_AUTH_KEY (or COLTEC_TAILSCALE_AUTH_KEY), and exactly the variables the
declaration names: the `${VAR}`s of its named remotes' buckets and options, their crypt
password_env/password2_env, and rclone_config.encryption.password_env when encryption
is on — and nothing else.

A named variable must be one the org policy lets cs:up deliver (rule 'delivered-env',
`rules.delivered_env`, default RCLONE_*, AWS_*, TAILSCALE_*, COLTEC_*) and never a
system variable (PATH, HOME, LD_*, PYTHON*, ...: variables.is_system_variable): a
committed spec must not pull an unrelated secret of whoever runs cs:up (a GITHUB_TOKEN)
into a container, nor steer its processes. Either is refused (SecretsError, naming the
file, line and field) before anything is written.

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
import fnmatch
import hashlib
import os
import shlex
import stat
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from coltec_worker.declaration import secretfile
from coltec_worker.declaration.named import declared_variables
from coltec_worker.declaration.source import load_yaml
from coltec_worker.declaration.spec import spec_from_dict
from coltec_worker.declaration.variables import NAME as _NAME
from coltec_worker.declaration.variables import is_system_variable
from coltec_worker.log import Redactor

from coltec import proc
from coltec.checks.policy import load_policy
from coltec.errors import SecretsError, ToolFailed

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
    """The variables `fnox eval` exports, or {} when fnox is not installed.

    A failing fnox is reported by its exit code only: what it printed (on either
    stream) may hold secrets it had already decrypted.
    """
    fnox = proc.which("fnox")
    if not fnox:
        return {}
    try:
        result = proc.run([fnox, "eval"], cwd=cwd, timeout=60, check=False)
    except ToolFailed as exc:  # timed out
        raise SecretsError(
            f"fnox eval did not finish (exit {exc.returncode}); its output is not shown "
            "(it may hold secrets)",
            "check `fnox eval` by hand",
        ) from None
    if result.returncode != 0:
        raise SecretsError(
            f"fnox eval failed with exit code {result.returncode}; its output is not shown "
            "(it may hold secrets)",
            "check `fnox eval` by hand",
        )
    return parse_exports(result.stdout)


def source_env(base: Mapping[str, str] | None = None, cwd: str | None = None) -> dict[str, str]:
    """Where secrets are read from: base (default os.environ) + fnox's exports."""
    env = dict(os.environ if base is None else base)
    env.update(from_fnox(cwd))
    return env


def wanted(env: Mapping[str, str], remote_name: str, named: Iterable[str] = ()) -> dict[str, str]:
    """The variables a workspace's worker needs, from env (pure): the rclone_config
    remote's, and the `named` ones (already checked by `refused`). System variables
    never go."""
    remote = env.get("RCLONE_REMOTE_NAME") or remote_name
    prefix = f"RCLONE_CONFIG_{remote.upper()}_"
    names = {*ALWAYS, *named}
    return {
        k: v
        for k, v in env.items()
        if v != "" and not is_system_variable(k) and (k in names or k.startswith(prefix))
    }


def allowed_by(patterns: Sequence[str], name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def refused(named: Mapping[str, str], allowed: Sequence[str]) -> tuple[str, str, str] | None:
    """(variable, field, why) of the first named variable cs:up must not deliver."""
    for var, where in named.items():
        if is_system_variable(var):
            return var, where, "is a system variable, not a secret"
        if not allowed_by(allowed, var):
            return var, where, "is not one the org policy lets cs:up deliver"
    return None


def for_workspace(
    spec_file: Path, env: Mapping[str, str], allowed: Sequence[str] | None = None
) -> dict[str, str]:
    """wanted() for what the workspace's spec declares. `allowed`: the org policy's
    rules.delivered_env (default: the policy of the spec's org)."""
    doc = load_yaml(spec_file)
    spec = spec_from_dict(doc.data)
    pers = spec.persistence
    named = declared_variables(pers.remotes)
    enc = pers.rclone_config.encryption
    if enc.enabled:
        named.setdefault(enc.password_env, "$.persistence.rclone_config.encryption.password_env")
    if allowed is None:
        allowed = load_policy(spec.metadata.org).setting("rules.delivered_env").value
    problem = refused(named, allowed)
    if problem is not None:
        var, where, why = problem
        pos = doc.position(where)
        line = f":{pos[0]}" if pos else ""
        raise SecretsError(
            f"{spec_file}{line}: {where}: {var} {why}; refusing to deliver it",
            f"name a variable matching {', '.join(allowed)} (rule 'delivered-env' of the "
            "org policy, rules.delivered_env)"
            if "org policy" in why
            else "name a variable of your own, e.g. R2_SECRET_ACCESS_KEY",
        )
    return wanted(env, pers.rclone_config.remote_name, named)


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
    """path as a private directory of ours: created 0700, or already ours, not a symlink
    and closed to others (refused otherwise). A folder this tool did not create is never
    chmodded (COLTEC_RUNTIME_DIR=/tmp must not change /tmp)."""
    try:
        path.mkdir(mode=0o700, parents=True)
        created = True
    except FileExistsError:
        created = False
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise SecretsError(
            f"{path} is not a directory of yours; refusing to put secrets there",
            f"remove it, or set {RUNTIME_ENV} to a private directory",
        )
    mode = stat.S_IMODE(info.st_mode)
    if created and mode != 0o700:  # a umask cannot widen 0700, but mkdir -p parents...
        os.chmod(path, 0o700)
    elif not created and mode & 0o077:
        raise SecretsError(
            f"{path} is open to other users (mode {mode:04o}); refusing to put secrets there",
            f"set {RUNTIME_ENV} to a folder only you can enter (chmod 700), or remove it "
            "and let cs:up create it",
        )
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
