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

from coltec.checks import base_image
from coltec.template.devcontainer_json import COMPOSE_KEYS, LIFECYCLE

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
    resolved = base_image.resolve(devcontainer)
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
    resolved = base_image.resolve(devcontainer)
    if resolved is not None and resolved.file != devcontainer:
        found.append(resolved.file)
    return [f.resolve() for f in found if f.is_file()]
