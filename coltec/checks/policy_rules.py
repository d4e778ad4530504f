"""The policy rules: each violation of one workspace, with the setting that forbids it.

Rules: required-excludes, interval-bounds, sync-directions, network-tags, base-image
(on the images the build and the engine use, see coltec.checks.base_image), the named
deny rules and run-args (on the effective container, see coltec.checks.effective),
host-commands and features. A file that cannot be read is `unreadable`: refused."""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass
from pathlib import Path

from coltec_worker.declaration.spec import WorkspaceSpec

from coltec.checks import base_image, deny
from coltec.checks.effective import effective
from coltec.checks.policy import Policy, Setting, display
from coltec.checks.requests import UNREADABLE


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
    """Rule base-image, on every image the build and the engine use (coltec.checks.base_image)."""
    allowed = policy.setting("rules.allowed_base_images")
    if "*" in allowed.value:
        return []
    out: list[Violation] = []
    for resolved in base_image.all_images(devcontainer):
        where = (display(resolved.file), resolved.line)
        if resolved.image is None:
            out.append(
                Violation(
                    "base-image",
                    resolved.path or "$.image",
                    f"the base image ({resolved.via}) cannot be determined: {resolved.reason}",
                    allowed,
                    f"name an image matching: {', '.join(allowed.value)}",
                    *where,
                )
            )
        elif not any(fnmatch.fnmatchcase(resolved.image, p) for p in allowed.value):
            out.append(
                Violation(
                    "base-image",
                    resolved.path or "$.image",
                    f"base image '{resolved.image}' ({resolved.via}) is not allowed",
                    allowed,
                    f"use an image matching: {', '.join(allowed.value)}",
                    *where,
                )
            )
    unique: dict[tuple[str, int | None, str], Violation] = {}
    for v in out:  # the run image is also a stage's base: once per file and line
        unique.setdefault((v.file, v.line, v.message.split(" (")[0]), v)
    return list(unique.values())


def _container_violations(policy: Policy, devcontainer: Path) -> list[Violation]:
    """The engine-facing rules on the effective container (see coltec.checks.effective):
    the named deny rules and run-args, host-commands, features; unreadable files."""
    eff = effective(devcontainer)
    denials = deny.table(policy)
    out: list[Violation] = []
    seen: set[tuple[str, str, str]] = set()
    for req in [*eff.requests, *eff.build_options]:
        where = (display(req.file), req.line)
        if req.tokens == (UNREADABLE,):
            out.append(
                Violation(
                    UNREADABLE,
                    req.path,
                    f"cannot be checked, so it is refused: {req.given}",
                    Setting(None, "built-in", "fail closed"),
                    "make the file readable (a regular UTF-8 file of at most 1 MiB, valid "
                    "JSON with comments or YAML)",
                    *where,
                )
            )
            continue
        hit = deny.first(req.tokens, denials)
        if hit is None or (hit[1].rule, req.path, str(req.file)) in seen:
            continue
        token, denial = hit
        seen.add((denial.rule, req.path, str(req.file)))
        out.append(
            Violation(
                denial.rule,
                req.path,
                f"'{req.given}' ({token}) matches denied '{denial.pattern}'",
                Setting(denial.pattern, "", denial.where),
                "remove it (devcontainer.json, its Features or the compose file)",
                *where,
            )
        )
    allowed = policy.setting("rules.allowed_host_commands")
    for cmd in eff.host_commands:
        if cmd.value not in (allowed.value or []):
            out.append(
                Violation(
                    "host-commands",
                    cmd.path,
                    f"initializeCommand {json.dumps(cmd.value)[:200]} runs on the host as the "
                    "cs:up caller and is not an allowed host command",
                    allowed,
                    "remove it (the container's own hooks, e.g. onCreateCommand, run "
                    "inside) or allow it exactly in rules.allowed_host_commands",
                    display(cmd.file),
                    cmd.line,
                )
            )
    features = policy.setting("rules.allowed_features")
    for feat in eff.features:
        if not any(fnmatch.fnmatchcase(feat.value, p) for p in features.value or []):
            out.append(
                Violation(
                    "features",
                    feat.path,
                    f"Feature '{feat.value}' is not allowed (its metadata may ask for "
                    "privileges and cannot be read before cs:up)",
                    features,
                    f"use a Feature matching: {', '.join(features.value or [])}",
                    display(feat.file),
                    feat.line,
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
    out += _container_violations(policy, devcontainer)
    return out
