"""What a workspace asks of `docker run`, as canonical options the policy can match.

The same request can be spelled many ways: `runArgs` (`-v /:/h`, `--volume=/:/h`,
`--mount type=bind,src=/,dst=/h`, `--privileged=true`, `--cap-add all`), the
devcontainer.json properties `mounts`, `privileged`, `capAdd`, `securityOpt`, or the
compose service's `privileged`, `cap_add`, `security_opt`, `pid`, `volumes`. Each
becomes one canonical token — `--privileged`, `--cap-add=ALL`, `--volume=SRC:DST`,
`--pid=host` — with the file and line that asked for it, so one pattern list
(`denied_run_args`) covers every spelling.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coltec_worker.declaration.source import Document, child_path, load_yaml
from coltec_worker.errors import ConfigError

from coltec import jsonc
from coltec.checks.dockerfile import read_limited

SHORT = {"-v": "--volume", "-e": "--env", "-u": "--user", "-p": "--publish", "-w": "--workdir"}
ALIASES = {"--net": "--network"}
BOOLEAN = {"--privileged", "--init", "--rm", "--read-only", "--oom-kill-disable"}
# docker run flags whose value may come as the next argument.
VALUED = {
    "--volume", "--mount", "--cap-add", "--cap-drop", "--device", "--security-opt", "--pid",
    "--ipc", "--network", "--userns", "--uts", "--user", "--env", "--publish", "--workdir",
    "--label", "--add-host", "--cgroupns", "--volumes-from", "--gpus", "--runtime", "--sysctl",
    "--tmpfs", "--name", "--entrypoint", "--env-file", "--platform", "--shm-size", "--ulimit",
    "--group-add", "--dns", "--hostname", "--memory", "--cpus", "--device-cgroup-rule",
}  # fmt: skip


@dataclass(frozen=True)
class RunOption:
    token: str  # canonical, e.g. "--volume=/var/run/docker.sock:/var/run/docker.sock"
    given: str  # as written
    file: Path
    line: int | None


def _source(path: str) -> str:
    """A bind source as the engine sees it: `//x/./y/..` is `/x`."""
    if not path.startswith("/"):
        return path
    return "/" + posixpath.normpath(path).lstrip("/")


def _volume(value: str) -> str:
    src, sep, rest = value.strip().partition(":")
    return f"--volume={_source(src)}{sep}{rest}"


def _mount(value: str) -> str:
    """`--mount` CSV (type=bind,source=/,target=/host) as a --volume token."""
    fields: dict[str, str] = {}
    for part in value.split(","):
        key, _, val = part.strip().partition("=")
        fields[key.strip().lower()] = val.strip()
    src = fields.get("source") or fields.get("src") or ""
    dst = fields.get("target") or fields.get("destination") or fields.get("dst") or ""
    return f"--volume={_source(src)}:{dst}"


def canonical(flag: str, value: str | None) -> str | None:
    """One docker run option as a canonical token (None when it turns something off)."""
    flag = ALIASES.get(SHORT.get(flag, flag), SHORT.get(flag, flag))
    if flag in BOOLEAN:
        if value is not None and value.strip().lower() in ("false", "0", "f"):
            return None
        return flag
    if value is None:
        return flag
    value = value.strip()
    if flag == "--volume":
        return _volume(value)
    if flag == "--mount":
        return _mount(value)
    if flag in ("--cap-add", "--cap-drop"):
        return f"{flag}={value.upper().removeprefix('CAP_')}"
    return f"{flag}={value}"


def parse_run_args(args: list[str]) -> list[tuple[str, str]]:
    """(canonical token, as written) for a docker run argument list."""
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(args):
        arg, i = args[i].strip(), i + 1
        flag, value = arg, None
        if arg.startswith("--") and "=" in arg:
            flag, _, value = arg.partition("=")
        elif arg.startswith("--") or arg in SHORT:
            if ALIASES.get(SHORT.get(arg, arg), SHORT.get(arg, arg)) in VALUED and i < len(args):
                value, i = args[i], i + 1
        elif re.match(r"-[a-zA-Z]", arg) and arg[:2] in SHORT:  # -v/:/host
            flag, value = arg[:2], arg[2:].lstrip("=")
        token = canonical(flag, value)
        if token is not None:
            out.append((token, arg if value is None else f"{arg} {value}".strip()))
    return out


def _devcontainer(dc: dict[str, Any], file: Path, lines: dict[str, int]) -> list[RunOption]:
    out: list[RunOption] = []

    def add(key: str, items: list[tuple[str, str]]) -> None:
        out.extend(RunOption(t, g, file, lines.get(key)) for t, g in items)

    run_args = dc.get("runArgs")
    if isinstance(run_args, list):
        add("runArgs", parse_run_args([str(a) for a in run_args]))
    for mount in dc.get("mounts") or [] if isinstance(dc.get("mounts"), list) else []:
        if isinstance(mount, str):
            add("mounts", [(_mount(mount), mount)])
        elif isinstance(mount, dict):
            src, dst = str(mount.get("source", "")), str(mount.get("target", ""))
            add("mounts", [(f"--volume={_source(src)}:{dst}", f"{src}:{dst}")])
    if dc.get("privileged") is True:
        add("privileged", [("--privileged", '"privileged": true')])
    for key, flag in (("capAdd", "--cap-add"), ("securityOpt", "--security-opt")):
        values = dc.get(key)
        for value in values if isinstance(values, list) else []:
            token = canonical(flag, str(value))
            add(key, [(token, f"{key}: {value}")] if token else [])
    return out


def _service(svc: dict[str, Any], base: str, doc: Document, path: Path) -> list[RunOption]:
    """The run options of one compose service definition (in one compose file)."""
    out: list[RunOption] = []

    def add(key: str, token: str | None, given: str, index: int | None = None) -> None:
        where = child_path(base, key) + ("" if index is None else f"[{index}]")
        pos = doc.position(where)
        if token is not None:
            out.append(RunOption(token, given, path, pos[0] if pos else None))

    if svc.get("privileged") is True:
        add("privileged", "--privileged", "privileged: true")
    for key, flag in (("cap_add", "--cap-add"), ("security_opt", "--security-opt")):
        values = svc.get(key)
        for i, value in enumerate(values if isinstance(values, list) else []):
            add(key, canonical(flag, str(value)), f"{key}: {value}", i)
    for key, flag in (("pid", "--pid"), ("network_mode", "--network"), ("ipc", "--ipc")):
        if isinstance(svc.get(key), str):
            add(key, canonical(flag, svc[key]), f"{key}: {svc[key]}")
    volumes = svc.get("volumes")
    for i, volume in enumerate(volumes if isinstance(volumes, list) else []):
        if isinstance(volume, str):
            src, sep, rest = volume.partition(":")
            if src.startswith("."):  # relative bind sources count from the project directory
                src = str((path.parent / src).resolve())
            add("volumes", _volume(src + sep + rest), volume, i)
        elif isinstance(volume, dict):
            src, dst = str(volume.get("source", "")), str(volume.get("target", ""))
            add("volumes", f"--volume={_source(src)}:{dst}", f"{src}:{dst}", i)
    return out


def _compose(dc: dict[str, Any], devcontainer: Path) -> list[RunOption]:
    files = dc.get("dockerComposeFile")
    files = [files] if isinstance(files, str) else files if isinstance(files, list) else []
    service = str(dc.get("service"))
    out: list[RunOption] = []
    for name in files:
        path = devcontainer.parent / str(name)
        try:
            doc = load_yaml(path)
        except ConfigError:
            continue  # the image resolution reports an unreadable compose file
        services = doc.data.get("services") if isinstance(doc.data, dict) else None
        svc = services.get(service) if isinstance(services, dict) else None
        if isinstance(svc, dict):
            out += _service(svc, child_path("$.services", service), doc, path)
    return out


def run_options(devcontainer: Path) -> list[RunOption]:
    """Every docker run option devcontainer.json (and its compose service) asks for."""
    try:
        text = read_limited(devcontainer)
        dc = jsonc.loads(text)
    except (LookupError, ValueError):
        return []  # the lifecycle's own checks report a broken devcontainer.json
    if not isinstance(dc, dict):
        return []
    out = _devcontainer(dc, devcontainer, jsonc.key_lines(text))
    if "dockerComposeFile" in dc:
        out += _compose(dc, devcontainer)
    return out
