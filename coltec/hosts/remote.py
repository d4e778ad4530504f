"""`cs:up` on a host that is not this machine: no copy of the nexus there, no bind mount.

A bind mount names a path on the machine that runs the engine; on a remote host the
nexus folder does not exist. So there:
- /workspace is a named volume, `coltec_<org>_<name>` (labelled with the workspace).
  Each `cs:up` puts the workspace's template files (.devcontainer/, the answers file)
  into it; the worker restores everything else from the bucket on its first run, and
  keeps its state in it (.coltec/state), so a restart or a rebuild loses nothing.
- The devcontainer configuration is the workspace's own with three changes, given to
  `devcontainer up` as --override-config (a private temporary file, never in the
  workspace): workspaceMount is the volume, bind mounts of local paths are dropped
  (the user config and the secrets folder), and the secrets folder the worker reads
  (/run/coltec/secrets, COLTEC_SECRETS_FILE) is a tmpfs instead.
- `devcontainer up --skip-post-create` creates or starts the container; then the
  template files, the user config (user.yaml) and the secrets file are streamed into
  it through `docker exec -i` *stdin* (never an argument, never a file on either
  disk: the secrets land in the tmpfs, mode 0600, owned by the container user, in the
  same format as the local host's mounted file); only then `devcontainer
  run-user-commands` runs post-create and post-start, which start the worker.
- A container restarted by Docker itself comes back with an empty tmpfs: its worker
  reports `secrets missing: run cs:up` and touches no data, as on a rebooted local host.
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from coltec_worker.declaration import secretfile
from coltec_worker.declaration.validation import default_user_config_path
from coltec_worker.log import Redactor

from coltec import jsonc, proc
from coltec.errors import LifecycleError
from coltec.hosts.hostsfile import Host
from coltec.hosts.placement import LABEL_HOST
from coltec.runtime import secrets
from coltec.runtime.docker import (
    CONTAINER_WORKSPACE,
    LABEL_WORKSPACE,
)
from coltec.runtime.lifecycle import (
    UP_TIMEOUT,
    UpResult,
    cause_lines,
    parse_outcome,
    prepare_up,
    up_argv,
    worker_runs,
)
from coltec.workspaces import Workspace

SECRETS_DIR = "/run/coltec/secrets"  # where the template mounts the local secrets folder
SECRETS_FILE = f"{SECRETS_DIR}/{secretfile.FILE_NAME}"
REMOTE_USER = "coltec"  # a volume, not a bind mount: no host owner to match
SEED = (".devcontainer", ".copier-answers.yml")
USER_CONFIG_DIR = ".config/coltec"  # under the container user's home, as the bind mount was
_LOCAL_ENV = "${localEnv:"


def volume_name(ws: Workspace) -> str:
    # '_' cannot occur in an org or name slug, so distinct workspaces get distinct names
    return f"coltec_{ws.org}_{ws.name}"


def _is_bind(mount: Any) -> bool:
    if isinstance(mount, dict):
        return mount.get("type") == "bind"
    return "type=bind" in str(mount).replace(" ", "").split(",")


def remote_config(ws: Workspace, host: Host) -> dict[str, Any]:
    """The workspace's devcontainer.json, changed for a host without the nexus folder."""
    config: dict[str, Any] = jsonc.loads(ws.devcontainer_file.read_text(encoding="utf-8"))
    if config.get("dockerComposeFile"):
        raise LifecycleError(
            f"{ws.key} is a Docker Compose configuration; it runs on local hosts only",
            f"start it on a local host with `mise run cs:up {ws.key} --host NAME`",
        )
    # The override file lives elsewhere: paths relative to .devcontainer/ become absolute.
    here = ws.devcontainer_file.parent
    build = config.get("build")
    if isinstance(build, dict):
        for key in ("dockerfile", "context"):
            if isinstance(build.get(key), str):
                build[key] = str((here / build[key]).resolve())
    for key in ("dockerFile", "context"):  # the older top-level spellings
        if isinstance(config.get(key), str):
            config[key] = str((here / config[key]).resolve())
    config["workspaceMount"] = f"source={volume_name(ws)},target={CONTAINER_WORKSPACE},type=volume"
    config["workspaceFolder"] = CONTAINER_WORKSPACE
    config["mounts"] = [m for m in config.get("mounts") or [] if not _is_bind(m)]
    config.pop("initializeCommand", None)  # it prepared the bind-mounted user config folder
    config["runArgs"] = [
        *(config.get("runArgs") or []),
        "--label",
        f"{LABEL_HOST}={host.name}",
        "--tmpfs",
        f"{SECRETS_DIR}:rw,nosuid,nodev,noexec,mode=0755",
    ]
    return config


def seed_tar(ws: Workspace) -> bytes:
    """The template files as a tar (owner left to the extracting user)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name in SEED:
            path = ws.dir / name
            if path.exists():
                tar.add(path, arcname=name, filter=_anonymous)
    return buffer.getvalue()


def _anonymous(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


@contextmanager
def override_file(ws: Workspace, host: Host) -> Iterator[Path]:
    """The changed configuration in a private temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="coltec-remote-"))
    try:
        path = folder / "devcontainer.json"
        path.write_text(json.dumps(remote_config(ws, host), indent=2) + "\n", encoding="utf-8")
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _exec_stdin(
    host: Host, container_id: str, user: str, script: str, data: bytes | str, *args: str
) -> None:
    """`docker exec -i` a fixed shell script; the payload travels on stdin only."""
    engine = host.engine()
    argv = [engine.docker(), "exec", "-i", "-u", user, container_id, "sh", "-euc", script, "sh"]
    text = base64.b64encode(data).decode() if isinstance(data, bytes) else data
    result = proc.run([*argv, *args], env=engine.env(), input=text, timeout=300, check=False)
    if result.returncode != 0:
        raise LifecycleError(
            f"delivering files into {container_id[:12]} on {host.name} failed "
            f"(exit {result.returncode}): {result.stderr.strip()[-400:]}",
        )


def deliver(
    host: Host, ws: Workspace, container_id: str, user: str, values: dict[str, str]
) -> None:
    """Template files into the volume, user.yaml into ~/.config/coltec, secrets into tmpfs."""
    # base64: the subprocess helper speaks text; the image has coreutils' base64
    _exec_stdin(
        host,
        container_id,
        user,
        f'base64 -d | tar -x -C "{CONTAINER_WORKSPACE}" -f -',
        seed_tar(ws),
    )
    default = default_user_config_path()
    user_config = None if default is None else Path(default)
    if user_config is not None and user_config.is_file():
        _exec_stdin(
            host,
            container_id,
            user,
            f'mkdir -p "$HOME/{USER_CONFIG_DIR}" && cat > "$HOME/{USER_CONFIG_DIR}/user.yaml"',
            user_config.read_text(encoding="utf-8"),
        )
    _exec_stdin(
        host,
        container_id,
        "root",
        f'umask 077; cat > "{SECRETS_FILE}.new"; chown "$1" "{SECRETS_FILE}.new"; '
        f'mv "{SECRETS_FILE}.new" "{SECRETS_FILE}"',
        secretfile.dumps(values),
        user,
    )


def _devcontainer_failed(
    ws: Workspace, host: Host, result: proc.Result, what: str, hide: Redactor
) -> None:
    outcome = parse_outcome(result.stdout)
    message = str(outcome.get("message") or f"{what} exited {result.returncode}")
    causes = "\n".join(cause_lines(result.stderr)) or "\n".join(
        result.stderr.strip().splitlines()[-12:]
    )
    raise LifecycleError(
        hide.text(f"{ws.key} on {host.name}: {message}\n{causes}".rstrip()),
        "the lines above are from devcontainer's log; fix the cause and run cs:up again",
    )


def up_remote(host: Host, ws: Workspace, *, rebuild: bool = False) -> UpResult:
    """Create or start the workspace's container on a remote host (see module docstring)."""
    engine = host.engine()
    devcontainer, nexus, current, was_running, label_hash, values = prepare_up(
        engine, ws, rebuild=rebuild
    )
    hide = secrets.redactor(values.values())
    engine.run(
        [
            "volume",
            "create",
            "--label",
            f"{LABEL_WORKSPACE}={ws.key}",
            "--label",
            f"{LABEL_HOST}={host.name}",
            volume_name(ws),
        ],
        timeout=60,
    )
    env = engine.env({"COLTEC_CONTAINER_USER": REMOTE_USER})
    env.pop(secrets.DIR_ENV, None)
    with override_file(ws, host) as override:
        argv = up_argv(devcontainer, ws, nexus, label_hash, rebuild=False)
        labels = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == "--id-label"]
        if "--update-remote-user-uid-default" not in argv:
            # the UID mapping serves bind mounts, and there is none here
            argv += ["--update-remote-user-uid-default", "never"]
        argv += ["--override-config", str(override), "--skip-post-create"]
        result = proc.run(argv, env=env, timeout=UP_TIMEOUT, check=False)
        outcome = parse_outcome(result.stdout)
        if outcome.get("outcome") != "success":
            _devcontainer_failed(ws, host, result, "devcontainer up", hide)
        container_id = str(outcome.get("containerId", ""))
        user = str(outcome.get("remoteUser") or REMOTE_USER)
        deliver(host, ws, container_id, user, values)
        run = [devcontainer, "run-user-commands", "--workspace-folder", str(ws.dir)]
        for label in labels:
            run += ["--id-label", label]
        run += ["--override-config", str(override), "--skip-post-attach"]
        result = proc.run(run, env=env, timeout=UP_TIMEOUT, check=False)
        if result.returncode != 0 or parse_outcome(result.stdout).get("outcome") == "error":
            _devcontainer_failed(ws, host, result, "devcontainer run-user-commands", hide)
    worker_runs(engine, ws, was_running, hide.text(result.stderr))
    return UpResult(
        ws.key,
        container_id,
        user,
        label_hash,
        drifted=label_hash != current,
        rebuilt=rebuild,
    )


def remove_volume(host: Host, ws: Workspace) -> bool:
    """`--purge`: the workspace's named volume on a remote host; False when there was none."""
    engine = host.engine()
    result = engine.run(["volume", "rm", volume_name(ws)], timeout=120, check=False)
    return result.returncode == 0
