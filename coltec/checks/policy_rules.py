"""The policy rules: each violation of one workspace, with the setting that forbids it.

Rules: required-excludes, interval-bounds, sync-directions, network-tags, base-image
(on the image the engine will run, see coltec.checks.base_image) and run-args."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path

from coltec_worker.declaration.spec import WorkspaceSpec

from coltec.checks import base_image, runargs
from coltec.checks.policy import Policy, Setting, display


@dataclass(frozen=True)
class Violation:
    rule: str
    path: str
    message: str
    setting: Setting
    hint: str
    file: str = ""  # a file other than the spec (devcontainer.json)
    line: int | None = None


def _image_violations(policy: Policy, devcontainer: Path) -> list[Violation]:
    """Rule base-image, on the image the engine will run (see coltec.checks.base_image)."""
    resolved = base_image.resolve(devcontainer)
    allowed = policy.setting("rules.allowed_base_images")
    if resolved is None or "*" in allowed.value:
        return []
    where = (display(resolved.file), resolved.line)
    if resolved.image is None:
        return [
            Violation(
                "base-image",
                "$.image",
                f"the base image ({resolved.via}) cannot be determined: {resolved.reason}",
                allowed,
                f"name an image matching: {', '.join(allowed.value)}",
                *where,
            )
        ]
    if any(fnmatch.fnmatchcase(resolved.image, p) for p in allowed.value):
        return []
    return [
        Violation(
            "base-image",
            "$.image",
            f"base image '{resolved.image}' ({resolved.via}) is not allowed",
            allowed,
            f"use an image matching: {', '.join(allowed.value)}",
            *where,
        )
    ]


def _run_arg_violations(policy: Policy, devcontainer: Path) -> list[Violation]:
    """Rule run-args: docker run options (in every spelling) matching a denied pattern."""
    denied = policy.items("rules.denied_run_args")  # additive: an org adds to the default's
    out: list[Violation] = []
    for option in runargs.run_options(devcontainer):
        match = next((s for s in denied if fnmatch.fnmatchcase(option.token, s.value)), None)
        if match is not None:
            out.append(
                Violation(
                    "run-args",
                    "$.runArgs",
                    f"'{option.given}' ({option.token}) matches denied run argument "
                    f"'{match.value}'",
                    match,
                    "remove it from devcontainer.json (runArgs, mounts, privileged, capAdd) "
                    "or the compose service",
                    display(option.file),
                    option.line,
                )
            )
    return out


def violations(spec: WorkspaceSpec, policy: Policy, devcontainer: Path) -> list[Violation]:
    out: list[Violation] = []
    required = policy.items("rules.required_excludes")
    lo, hi = policy.setting("rules.interval.min"), policy.setting("rules.interval.max")
    dirs = policy.setting("rules.allowed_directions")
    for i, sync in enumerate(spec.persistence.sync):
        here = f"$.persistence.sync[{i}]"
        for req in required:
            if req.value not in sync.exclude:
                out.append(
                    Violation(
                        "required-excludes",
                        f"{here}.exclude",
                        f"sync path '{sync.name}' does not exclude "
                        f"'{req.value}' (excludes: {list(sync.exclude)})",
                        req,
                        f"add '{req.value}' to its exclude list",
                    )
                )
        if sync.interval < lo.value:
            out.append(
                Violation(
                    "interval-bounds",
                    f"{here}.interval",
                    f"interval {sync.interval}s is below the org minimum {lo.value}s",
                    lo,
                    f"use at least {lo.value}",
                )
            )
        if sync.interval > hi.value:
            out.append(
                Violation(
                    "interval-bounds",
                    f"{here}.interval",
                    f"interval {sync.interval}s is above the org maximum {hi.value}s",
                    hi,
                    f"use at most {hi.value}",
                )
            )
        if sync.direction not in dirs.value:
            out.append(
                Violation(
                    "sync-directions",
                    f"{here}.direction",
                    f"direction '{sync.direction}' is not allowed",
                    dirs,
                    f"use one of: {', '.join(dirs.value)}",
                )
            )
    if spec.networking.enabled:
        for req in policy.items("rules.required_network_tags"):
            if req.value not in spec.networking.tags:
                out.append(
                    Violation(
                        "network-tags",
                        "$.networking.tags",
                        f"networking is enabled but tag '{req.value}' is not "
                        f"advertised (tags: {list(spec.networking.tags)})",
                        req,
                        f"add '{req.value}' to networking.tags",
                    )
                )
    out += _image_violations(policy, devcontainer)
    out += _run_arg_violations(policy, devcontainer)
    return out
