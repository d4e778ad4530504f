"""The effective container of a workspace: everything its files make the engine do.

devcontainer.json's own requests, its local Features' metadata, every compose service
(not only the one named `service`: compose starts them all), the Features it names
from elsewhere, its host-side commands (`initializeCommand`) and its build options.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from coltec import jsonc
from coltec.checks import composefile, dockerargs
from coltec.checks.dockerfile import read_limited
from coltec.checks.requests import (
    Config,
    Request,
    container_requests,
    expansions,
    read_config,
    truthy,
    unreadable,
)

FEATURE_FILE = "devcontainer-feature.json"


@dataclass(frozen=True)
class Located:
    value: Any
    file: Path
    line: int | None
    path: str


@dataclass
class Effective:
    config: Config
    requests: list[Request] = field(default_factory=list)
    host_commands: list[Located] = field(default_factory=list)  # initializeCommand (parts)
    features: list[Located] = field(default_factory=list)  # ids of Features not local
    build_options: list[Request] = field(default_factory=list)


def _local_feature(eff: Effective, fid: str, here: str, workspace: Path) -> None:
    folder = (eff.config.file.parent / fid).resolve()
    file = folder / FEATURE_FILE
    try:
        text = read_limited(file)
        meta = jsonc.loads(text)
    except (LookupError, ValueError) as exc:
        eff.requests.append(unreadable(file, f"Feature {fid}: {exc}", eff.config.line(here), here))
        return
    if not isinstance(meta, dict):
        eff.requests.append(unreadable(file, f"Feature {fid}: not a JSON object"))
        return
    lines = jsonc.positions(text)
    eff.requests += container_requests(meta, file, lines.get, workspace)
    for dep in (meta.get("dependsOn") or {}) if isinstance(meta.get("dependsOn"), dict) else {}:
        eff.features.append(Located(str(dep), file, lines.get("$.dependsOn"), "$.dependsOn"))


def _features(eff: Effective, data: dict[str, Any], workspace: Path) -> None:
    features = data.get("features")
    if not isinstance(features, dict):
        return
    for fid in features:
        here = jsonc.child("$.features", str(fid))
        if str(fid).startswith(("./", "../")):
            _local_feature(eff, str(fid), here, workspace)
        else:
            eff.features.append(Located(str(fid), eff.config.file, eff.config.line(here), here))


def _host_commands(eff: Effective, data: dict[str, Any]) -> None:
    command = data.get("initializeCommand")
    if command is None:
        return
    parts = command.items() if isinstance(command, dict) else [(None, command)]
    for name, value in parts:
        path = "$.initializeCommand" + ("" if name is None else jsonc.child("", str(name)))
        eff.host_commands.append(Located(value, eff.config.file, eff.config.line(path), path))


BUILD_FLAGS = ("--allow", "--output", "-o", "--secret", "--ssh", "--build-context", "--privileged")


def build_option_tokens(args: list[str]) -> list[tuple[int, str, str]]:
    """(index, token, given) of the build options that reach outside the build."""
    out: list[tuple[int, str, str]] = []
    for i, arg in enumerate(args):
        flag, sep, value = arg.partition("=")
        flag = "--output" if flag == "-o" else flag
        if flag in BUILD_FLAGS:
            if not sep and flag != "--privileged" and i + 1 < len(args):
                value = args[i + 1]
            out.append((i, f"{flag}={value}" if flag != "--privileged" else flag, arg))
    return out


def _build_options(eff: Effective, data: dict[str, Any]) -> None:
    build = data.get("build")
    options = build.get("options") if isinstance(build, dict) else None
    if isinstance(options, list):
        for i, token, given in build_option_tokens([str(o) for o in options]):
            path = f"$.build.options[{i}]"
            eff.build_options.append(
                Request((token,), given, eff.config.file, eff.config.line(path), path)
            )


# -- compose --------------------------------------------------------------------------

SERVICE_FLAGS = {
    "pid": "--pid", "ipc": "--ipc", "uts": "--uts", "userns_mode": "--userns",
    "cgroup": "--cgroupns", "network_mode": "--network", "runtime": "--runtime",
}  # fmt: skip


def service_requests(
    svc: dict[str, Any], base: str, file: composefile.ComposeFile, proj: composefile.Project
) -> list[Request]:
    out: list[Request] = []
    top_volumes = {}
    for f in proj.files:
        if isinstance(f.data.get("volumes"), dict):
            top_volumes.update(f.data["volumes"])

    def add(key: str, given: str, tokens: tuple[str, ...]) -> None:
        if tokens:
            path = f"{base}.{key}"  # key: a compose field, maybe indexed (`volumes[0]`)
            out.append(Request(tokens, given, file.path, file.line(path), path))

    def child(key: str, i: int | None = None) -> str:
        return key if i is None else f"{key}[{i}]"

    if (
        "privileged" in svc
        and truthy(svc["privileged"])
        and str(svc["privileged"]).lower() not in ("false", "no", "off", "0")
    ):
        add("privileged", f"privileged: {svc['privileged']}", ("--privileged",))
    for key, flag in (
        ("cap_add", "--cap-add"),
        ("security_opt", "--security-opt"),
        ("devices", "--device"),
        ("device_cgroup_rules", "--device-cgroup-rule"),
        ("volumes_from", "--volumes-from"),
    ):
        value = svc.get(key)
        items = value if isinstance(value, list) else [value] if value else []
        for i, item in enumerate(items):
            text = item.get("source", "") if isinstance(item, dict) else str(item)
            path = child(key, i if isinstance(value, list) else None)
            add(path, f"{key}: {item}", dockerargs.canonical(flag, text))
    for key, flag in SERVICE_FLAGS.items():
        if isinstance(svc.get(key), str):
            add(key, f"{key}: {svc[key]}", dockerargs.canonical(flag, svc[key]))
    if truthy(svc.get("use_api_socket")):
        add(
            "use_api_socket", "use_api_socket: true", dockerargs.canonical("--use-api-socket", None)
        )
    volumes = svc.get("volumes")
    for i, volume in enumerate(volumes if isinstance(volumes, list) else []):
        if isinstance(volume, str):
            src, sep, rest = volume.partition(":")
            src = str(Path.home()) + src[1:] if src.startswith("~") else src
            named = top_volumes.get(src) if not src.startswith((".", "/")) else None
            opts = named.get("driver_opts") if isinstance(named, dict) else None
            if isinstance(opts, dict) and opts.get("device"):
                src = str(opts["device"])  # a local volume bound to a host path
            tokens = dockerargs.canonical(
                "--volume", f"{src}{sep}{rest}", proj.directory, resolve=True
            )
        elif isinstance(volume, dict):
            src = str(volume.get("source", ""))
            named = top_volumes.get(src)
            opts = named.get("driver_opts") if isinstance(named, dict) else None
            if isinstance(opts, dict) and opts.get("device"):
                src = str(opts["device"])
            tokens = dockerargs.bind_sources(src, proj.directory, resolve=True)
            tokens = tuple(f"--volume={s}:{volume.get('target', '')}" for s in tokens)
        else:
            continue
        add(child("volumes", i), f"volumes: {volume}", tokens)
    for key in ("secrets", "configs"):  # top-level `file:` entries are bind-mounted
        refs = svc.get(key)
        for i, ref in enumerate(refs if isinstance(refs, list) else []):
            name = ref.get("source") if isinstance(ref, dict) else ref
            for f in proj.files:
                entry = (
                    (f.data.get(key) or {}).get(name) if isinstance(f.data.get(key), dict) else None
                )
                if isinstance(entry, dict) and isinstance(entry.get("file"), str):
                    srcs = dockerargs.bind_sources(entry["file"], f.path.parent, resolve=True)
                    add(
                        child(key, i),
                        f"{key}: {name} (file {entry['file']})",
                        tuple(f"--volume={s}:/run/{key}/{name}" for s in srcs),
                    )
    build = svc.get("build")
    if isinstance(build, dict):
        for key, flag in (("secrets", "--secret"), ("ssh", "--ssh"), ("entitlements", "--allow")):
            for i, item in enumerate(_listed(build.get(key))):
                add(f"build.{child(key, i)}", f"build.{key}: {item}", (f"{flag}={item}",))
        if truthy(build.get("privileged")):
            add("build.privileged", "build.privileged: true", ("--allow=security.insecure",))
    return out


def _listed(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{k}={v}" for k, v in value.items()]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []


def _compose(eff: Effective, data: dict[str, Any], workspace: Path) -> None:
    files = data.get("dockerComposeFile")
    names = [files] if isinstance(files, str) else files if isinstance(files, list) else []
    if not names:
        line = eff.config.line("$.dockerComposeFile")
        eff.requests.append(unreadable(eff.config.file, "dockerComposeFile names no file", line))
        return
    paths = [eff.config.file.parent / expansions(str(n), workspace)[0] for n in names]
    try:
        proj = composefile.project(paths)
        found = composefile.services(proj)
    except composefile.ComposeUnreadable as exc:
        line = eff.config.line("$.dockerComposeFile")
        eff.requests.append(unreadable(eff.config.file, str(exc), line, "$.dockerComposeFile"))
        return
    for name, svc, file in found:
        eff.requests += service_requests(svc, jsonc.child("$.services", name), file, proj)


def effective(devcontainer: Path, workspace: Path | None = None) -> Effective:
    """Everything the workspace's files ask of the engine (see module docstring)."""
    workspace = workspace or devcontainer.parent.parent
    if not devcontainer.exists() and not devcontainer.is_symlink():
        # nothing to run (a bare spec); cs:up passes this very file with --config, so the
        # CLI cannot fall back on another one
        return Effective(Config(devcontainer, {}, {}))
    config = read_config(devcontainer)
    eff = Effective(config)
    if config.data is None:
        eff.requests.append(unreadable(devcontainer, config.problem))
        return eff
    data = config.data
    eff.requests += container_requests(data, devcontainer, config.line, workspace)
    _features(eff, data, workspace)
    _host_commands(eff, data)
    _build_options(eff, data)
    if "dockerComposeFile" in data:
        _compose(eff, data, workspace)
    return eff


def as_json(eff: Effective) -> list[dict[str, Any]]:
    """The requests, for the guard's context file."""
    return [
        {
            "tokens": list(r.tokens),
            "given": r.given,
            "file": str(r.file),
            "line": r.line,
            "path": r.path,
        }
        for r in eff.requests
    ]
