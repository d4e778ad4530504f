"""Reading a devcontainer.json to adopt: JSON with comments, each property's shape checked,
a malformed one reported as one located usage error (file:line: $.key: expected ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from coltec import jsonc
from coltec.errors import UsageError

LIFECYCLE = (
    "initializeCommand",
    "onCreateCommand",
    "updateContentCommand",
    "postCreateCommand",
    "postStartCommand",
    "postAttachCommand",
)


COMPOSE_KEYS = ("dockerComposeFile", "service", "runServices")


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
        data = jsonc.loads(text, exact_numbers=True)  # 1e400 stays 1e400 (jsonc.NUMBER_MARK)
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
