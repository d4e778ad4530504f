"""What an existing devcontainer.json says, as answers of the template — and what would be lost.

`cs:adopt` carries every setting of a devcontainer.json it did not write into the
template's answers (image / build / compose, features, mounts, containerEnv,
remoteEnv, forwardPorts, lifecycle commands, runArgs, customizations, and any other
property), so the render keeps them and every later update renders them again,
each in its own setting. `lost_settings` compares the user's file with a render:
the settings a render would drop or change.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from . import images, jsonc
from .errors import UsageError

LIFECYCLE = (
    "initializeCommand",
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
)
COMPOSE_KEYS = ("dockerComposeFile", "service", "runServices")
# Properties with a question of their own (everything else goes to devcontainer_extra).
CARRIED = {
    "image",
    "build",
    "dockerFile",
    "features",
    "mounts",
    "containerEnv",
    "remoteEnv",
    "forwardPorts",
    "customizations",
    "runArgs",
    *LIFECYCLE,
    *COMPOSE_KEYS,
}
PROJECT_TYPES = ("python", "node", "rust", "go", "java")
# Words in an image name or feature id that say the project type.
_KIND_WORDS = {
    "python": ("python", "pypy", "jupyter", "conda", "anaconda", "miniconda", "django", "flask"),
    "node": ("node", "javascript-node", "typescript-node", "deno", "bun", "nodejs"),
    "rust": ("rust",),
    "go": ("go", "golang"),
    "java": ("java", "openjdk", "temurin", "eclipse-temurin", "maven", "gradle", "jdk", "corretto"),
}
_KIND_FILES = {
    "python": ("pyproject.toml", "requirements.txt", "setup.py", "Pipfile", "environment.yml"),
    "node": ("package.json",),
    "rust": ("Cargo.toml",),
    "go": ("go.mod",),
    "java": ("pom.xml", "build.gradle", "build.gradle.kts", "mvnw", "gradlew"),
}

# -- reading, with one located error per malformed shape -------------------------------

_SHAPES: dict[str, tuple[str, str]] = {  # key: (expected, how to write it)
    "features": (
        "an object {feature-id: options}",
        '"features": {"ghcr.io/devcontainers/features/go:1": {}}',
    ),
    "mounts": (
        "a list of mount strings or objects",
        '"mounts": ["source=cache,target=/cache,type=volume"]',
    ),
    "containerEnv": ('an object {NAME: "value"}', '"containerEnv": {"NAME": "value"}'),
    "remoteEnv": ('an object {NAME: "value"}', '"remoteEnv": {"NAME": "value"}'),
    "forwardPorts": (
        'a list of ports (numbers or "host:port")',
        '"forwardPorts": [8000, "db:5432"]',
    ),
    "runArgs": ("a list of strings", '"runArgs": ["--init"]'),
    "customizations": (
        "an object {tool: settings}",
        '"customizations": {"vscode": {"extensions": []}}',
    ),
    "build": (
        "an object with a dockerfile",
        '"build": {"dockerfile": "Dockerfile", "context": ".."}',
    ),
    "dockerFile": ("a path (string)", '"dockerFile": "Dockerfile"'),
    "image": ("an image reference (string)", '"image": "mcr.microsoft.com/devcontainers/base"'),
    "dockerComposeFile": ("a path or a list of paths", '"dockerComposeFile": ["../compose.yaml"]'),
    "service": ("a service name (string)", '"service": "app"'),
    "runServices": ("a list of service names", '"runServices": ["app", "db"]'),
}


def _is_command(value: Any) -> bool:
    if isinstance(value, str):
        return True
    if isinstance(value, list):
        return all(isinstance(v, str) for v in value)
    return isinstance(value, dict) and all(
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v))
        for v in value.values()
    )


def _shape_ok(key: str, value: Any) -> bool:
    if key in ("features", "customizations"):
        return isinstance(value, dict)
    if key in ("containerEnv",):
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    if key == "remoteEnv":
        return isinstance(value, dict) and all(
            v is None or isinstance(v, str) for v in value.values()
        )
    if key == "mounts":
        return isinstance(value, list) and all(isinstance(m, str | dict) for m in value)
    if key == "forwardPorts":
        return isinstance(value, list) and all(
            isinstance(p, str) or (isinstance(p, int) and not isinstance(p, bool)) for p in value
        )
    if key in ("runArgs", "runServices"):
        return isinstance(value, list) and all(isinstance(a, str) for a in value)
    if key == "build":
        return isinstance(value, dict) and isinstance(value.get("dockerfile", ""), str)
    if key == "dockerComposeFile":
        return isinstance(value, str) or (
            isinstance(value, list) and bool(value) and all(isinstance(f, str) for f in value)
        )
    return isinstance(value, str)  # image, dockerFile, service


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "a number" if isinstance(value, int | float) else "null"
    )


def load_devcontainer(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """devcontainer.json and its keys' lines; a malformed shape is one located UsageError."""
    if not path.is_file():
        root = path.parent.parent
        others = sorted(str(p.relative_to(root)) for p in path.parent.glob("*/devcontainer.json"))
        if (root / ".devcontainer.json").is_file():
            others.insert(0, ".devcontainer.json")
        hint = (
            f"move the configuration to adopt to .devcontainer/devcontainer.json "
            f"(found: {', '.join(others)})"
            if others
            else "adopt needs a folder with .devcontainer/devcontainer.json"
        )
        raise UsageError(f"{path}: no such file", hint)
    try:
        text = path.read_text(encoding="utf-8")
        data = jsonc.loads(text)
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text", "save it as UTF-8") from None
    except ValueError as exc:
        line = getattr(exc, "lineno", None)
        raise UsageError(
            f"{path}:{line}: not valid JSON (with comments): {getattr(exc, 'msg', exc)}",
            "fix the syntax there (a missing comma or quote?)",
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"{path}:1: $: expected an object, got {_kind(data)}", "write { ... }")
    lines = jsonc.key_lines(text)
    for key, value in data.items():
        expected = _SHAPES.get(key)
        if key in LIFECYCLE and not _is_command(value):
            expected = ("a command: a string, a list of strings, or an object of them", "")
        elif expected is None or _shape_ok(key, value):
            continue
        raise UsageError(
            f"{path}:{lines.get(key, 1)}: $.{key}: expected {expected[0]}, got {_kind(value)}",
            f"write it as {expected[1]}" if expected[1] else f'write it as "{key}": "make setup"',
        )
    if "dockerComposeFile" in data and not isinstance(data.get("service"), str):
        raise UsageError(
            f"{path}:{lines.get('dockerComposeFile', 1)}: $.service: a compose configuration "
            "needs the service to run in",
            'add "service": "<the compose service of the dev container>"',
        )
    return data, lines


# -- inference --------------------------------------------------------------------------


def _words(text: str) -> set[str]:
    """The name parts of an image or feature id: mcr.../devcontainers/python:1-3.12 -> python."""
    name = text.rsplit("/", 1)[-1].partition(":")[0].partition("@")[0].lower()
    return {name, *(w for w in re.split(r"[^a-z0-9]+", name) if w)}


def project_type(dc: dict[str, Any], devcontainer: Path, ws_dir: Path) -> str:
    """From the image the engine runs, then the features, then the project's files."""
    env = dc.get("containerEnv")
    if isinstance(env, dict) and env.get("COLTEC_PROJECT_TYPE") in PROJECT_TYPES:
        return str(env["COLTEC_PROJECT_TYPE"])
    resolved = images.resolve(devcontainer)
    named = [resolved.image] if resolved is not None and resolved.image else []
    for text in [*named, *(dc.get("features") or {})]:
        words = _words(text)
        for kind in PROJECT_TYPES:
            if words & set(_KIND_WORDS[kind]):
                return kind
    for kind in PROJECT_TYPES:
        if any((ws_dir / f).exists() for f in _KIND_FILES[kind]):
            return kind
    return "generic"


def _hook_without(value: Any, coltec: Any) -> Any:
    """The user's part of a lifecycle command (the template's own part removed)."""
    if value == coltec:
        return None
    if isinstance(value, dict) and value.get("coltec") == coltec:
        rest = {k: v for k, v in value.items() if k != "coltec"}
        return (rest.get("user") if list(rest) == ["user"] else rest) or None
    return value


def carried_answers(dc: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """Answers carrying every setting of `dc` that `base` (the plain render) lacks."""
    out: dict[str, Any] = {}
    if isinstance(dc.get("dockerComposeFile"), str | list):
        out["compose"] = {k: dc[k] for k in COMPOSE_KEYS if k in dc}
    elif isinstance(dc.get("build"), dict) and "dockerfile" in dc["build"]:
        out["image_build"] = dc["build"]
    elif isinstance(dc.get("dockerFile"), str):  # the legacy spelling, as a build
        legacy = {"dockerfile": dc["dockerFile"]}
        if isinstance(dc.get("context"), str):
            legacy["context"] = dc["context"]
        out["image_build"] = {**legacy, **(dc.get("build") or {})}
    elif isinstance(dc.get("image"), str):
        out["base_image"] = dc["image"]
    base_features = base.get("features") or {}
    features = {k: v for k, v in (dc.get("features") or {}).items() if base_features.get(k) != v}
    if features:
        out["features"] = features
    mounts = [m for m in dc.get("mounts") or [] if m not in (base.get("mounts") or [])]
    if mounts:
        out["mounts"] = mounts
    base_env = base.get("containerEnv") or {}
    env = {k: v for k, v in (dc.get("containerEnv") or {}).items() if base_env.get(k) != v}
    if env:
        out["container_env"] = env
    for key, question in (("remoteEnv", "remote_env"), ("forwardPorts", "forward_ports")):
        if dc.get(key):
            out[question] = dc[key]
    run_args = [a for a in dc.get("runArgs") or [] if a not in (base.get("runArgs") or [])]
    if run_args:
        out["run_args"] = run_args
    hooks = {}
    for event in LIFECYCLE:
        if event in dc:
            mine = _hook_without(dc[event], base.get(event))
            if mine is not None:
                hooks[event] = mine
    if hooks:
        out["lifecycle_commands"] = hooks
    if dc.get("customizations"):
        out["customizations"] = dc["customizations"]
    legacy_context = "context" in dc and "image_build" in out
    own_image = "image_build" not in out and "compose" not in out
    own_image = own_image and out.get("base_image", base.get("image")) == base.get("image")
    # An image of the user's own has its own users: the template's `coltec` user is
    # not there. A null extra leaves the property out, as the user's file did.
    unset = {} if own_image else {k: None for k in ("remoteUser", "containerUser") if k not in dc}
    extra = {
        k: v
        for k, v in dc.items()
        if k not in CARRIED and base.get(k) != v and not (k == "context" and legacy_context)
    }
    extra.update(unset)
    if extra:
        out["devcontainer_extra"] = extra
    return out


# -- what a render would lose ---------------------------------------------------------------


def _normalized(dc: dict[str, Any]) -> dict[str, Any]:
    """The legacy `dockerFile` (+ `context`) as the `build` it means."""
    if not isinstance(dc.get("dockerFile"), str):
        return dc
    out = {k: v for k, v in dc.items() if k not in ("dockerFile", "context")}
    build = {"dockerfile": dc["dockerFile"], **(dc.get("build") or {})}
    if isinstance(dc.get("context"), str):
        build.setdefault("context", dc["context"])
    out["build"] = build
    return out


def _kept(mine: Any, rendered: Any, path: str, lost: list[str], *, hook: bool = False) -> None:
    if hook and isinstance(rendered, dict) and mine != rendered:
        if rendered.get("user") == mine:
            return
        if isinstance(mine, dict):
            for key, value in mine.items():
                _kept(value, rendered.get(key), f"{path}.{key}", lost)
            return
    if isinstance(mine, dict) and isinstance(rendered, dict):
        for key, value in mine.items():
            if key not in rendered:
                lost.append(f"{path}.{key}")
            else:
                _kept(value, rendered[key], f"{path}.{key}", lost)
    elif isinstance(mine, list) and isinstance(rendered, list):
        lost.extend(f"{path}[{i}]" for i, item in enumerate(mine) if item not in rendered)
    elif mine != rendered:
        lost.append(path)


def lost_settings(mine: dict[str, Any], rendered: dict[str, Any]) -> list[str]:
    """JSON paths of the user's settings a render drops or changes ([] = nothing lost)."""
    lost: list[str] = []
    mine, rendered = _normalized(mine), _normalized(rendered)
    for key, value in mine.items():
        if key not in rendered:
            lost.append(f"$.{key}")
        else:
            _kept(value, rendered[key], f"$.{key}", lost, hook=key in LIFECYCLE)
    return lost


def referenced_files(dc: dict[str, Any], devcontainer: Path) -> list[Path]:
    """Files the configuration builds or runs from: compose files, the Dockerfile."""
    files = dc.get("dockerComposeFile")
    names = [files] if isinstance(files, str) else files if isinstance(files, list) else []
    found = [devcontainer.parent / str(n) for n in names]
    resolved = images.resolve(devcontainer)
    if resolved is not None and resolved.file != devcontainer:
        found.append(resolved.file)
    return [f.resolve() for f in found if f.is_file()]
