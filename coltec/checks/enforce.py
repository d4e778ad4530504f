"""The guard's judgement of one docker or compose command line, against the deny table.

Used by coltec.checks.guard, the `--docker-path`/`--docker-compose-path` stand-in of
`cs:up`: the devcontainer CLI's real `docker run`/`create`, `build`, `volume create` and
`compose up`/`create`/`run`/`build` are judged here before anything runs. It reads no
policy file: the context (deny table, allowed images, the workspace's own requests for
naming file and line) was prepared by cs:up.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from coltec.checks import composefile, dockerargs
from coltec.checks.deny import Denial, first
from coltec.checks.dockerfile import dockerfile_image, used_images
from coltec.checks.effective import build_option_tokens, service_requests

# docker's global options that take a value (before the subcommand).
GLOBAL_VALUED = {
    "-H",
    "--host",
    "--context",
    "-c",
    "--config",
    "-l",
    "--log-level",
    "--tlscacert",
    "--tlscert",
    "--tlskey",
}
COMPOSE_VALUED = {
    "-f",
    "--file",
    "-p",
    "--project-name",
    "--project-directory",
    "--env-file",
    "--profile",
    "--ansi",
    "--parallel",
    "--progress",
}
BUILD_BOOLEAN = {"--no-cache", "--pull", "--load", "--push", "-q", "--quiet", "--rm", "--force-rm"}
COMPOSE_CHECKED = {"up", "create", "run", "build", "start", "restart"}
# The CLI's own build context for Features' content: not an image, not the user's ask.
CLI_CONTEXT = "dev_containers_"


@dataclass(frozen=True)
class Refusal:
    rule: str
    pattern: str
    where: str  # policy file:line
    given: str  # the offending argument
    token: str


def subcommand(args: list[str]) -> tuple[list[str], list[str]]:
    """(words of the subcommand, e.g. ["container", "run"], the rest) after global options."""
    i = 0
    while i < len(args) and args[i].startswith("-"):
        i += 2 if args[i] in GLOBAL_VALUED else 1
    words = args[i : i + 1]
    rest = args[i + 1 :]
    if words and words[0] in ("container", "image", "buildx", "builder", "volume") and rest:
        words, rest = [words[0], rest[0]], rest[1:]
    return words, rest


def _judge(tokens: tuple[str, ...], given: str, denials: list[Denial]) -> Refusal | None:
    hit = first(tokens, denials)
    if hit is None:
        return None
    token, d = hit
    return Refusal(d.rule, d.pattern, d.where, given, token)


def check_run(args: list[str], denials: list[Denial], *, local: bool) -> Refusal | None:
    options, _ = dockerargs.parse(args, Path.cwd(), resolve=local, options_only=False)
    for opt in options:
        refusal = _judge(opt.tokens, opt.given, denials)
        if refusal:
            return refusal
    return None


def check_volume_create(args: list[str], denials: list[Denial], *, local: bool) -> Refusal | None:
    opts: dict[str, str] = {}
    for i, arg in enumerate(args):
        value = arg.partition("=")[2] if arg.startswith("--opt=") else ""
        if arg in ("-o", "--opt") and i + 1 < len(args):
            value = args[i + 1]
        key, _, val = value.partition("=")
        if key:
            opts[key.strip().lower()] = val.strip()
    device = opts.get("device", "")
    if not device:
        return None
    tokens = tuple(f"--volume={s}:" for s in dockerargs.bind_sources(device, None, resolve=local))
    return _judge(tokens, f"volume create --opt device={device}", denials)


def check_build(
    args: list[str], denials: list[Denial], allowed: list[str], built: set[str]
) -> tuple[Refusal | None, list[str]]:
    """The build's options and, unless every image is allowed, every image it uses.
    Returns the refusal (or None) and the tags this build makes."""
    dockerfile, context, target, tags = "", "", None, []
    build_args: dict[str, str] = {}
    contexts: set[str] = set()
    i = 0
    while i < len(args):
        arg = args[i]
        flag, sep, value = arg.partition("=")
        valued = flag.startswith("-") and flag not in BUILD_BOOLEAN
        if valued and not sep and i + 1 < len(args):
            value, i = args[i + 1], i + 1
        if flag in ("-f", "--file"):
            dockerfile = value
        elif flag in ("-t", "--tag"):
            tags.append(value)
        elif flag == "--target":
            target = value
        elif flag == "--build-arg":
            name, has, val = value.partition("=")
            build_args[name] = val if has else os.environ.get(name, "")
        elif flag == "--build-context":
            contexts.add(value.partition("=")[0])
        elif not flag.startswith("-"):
            context = arg
        i += 1
    for _, token, given in build_option_tokens(args):
        if token.startswith(f"--build-context={CLI_CONTEXT}"):
            continue
        refusal = _judge((token,), given, denials)
        if refusal:
            return refusal, tags
    if "*" in allowed:
        return None, tags
    path = Path(dockerfile) if dockerfile else Path(context or ".") / "Dockerfile"
    if not path.is_absolute():
        path = Path.cwd() / path
    images = [
        dockerfile_image(path, build_args, target, "build"),
        *used_images(path, build_args, "build"),
    ]
    for found in images:
        image = found.image
        if image is not None and (image in built or image in contexts or image == "scratch"):
            continue
        if image is None or not any(fnmatch.fnmatchcase(image, p) for p in allowed):
            what = image or f"an image that cannot be determined ({found.reason})"
            where = f"{found.file}:{found.line}" if found.line else str(found.file)
            rule = Refusal(
                "base-image",
                ", ".join(allowed),
                "rules.allowed_base_images",
                f"{what} ({where})",
                image or "?",
            )
            return rule, tags
    return None, tags


def check_compose(args: list[str], denials: list[Denial]) -> Refusal | None:
    """`compose [-f F]... [-p P] up|create|run|build ...`: every service of every file."""
    files: list[Path] = []
    directory: Path | None = None
    i, verb = 0, ""
    while i < len(args):
        flag, sep, value = args[i].partition("=")
        if flag in COMPOSE_VALUED:
            if not sep and i + 1 < len(args):
                value, i = args[i + 1], i + 1
            if flag in ("-f", "--file"):
                files.append(Path(value))
            elif flag == "--project-directory":
                directory = Path(value)
        elif not flag.startswith("-"):
            verb = flag
            break
        i += 1
    if verb not in COMPOSE_CHECKED:
        return None
    if not files:
        base = directory or Path.cwd()
        files = [
            base / n
            for n in ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
            if (base / n).is_file()
        ][:1]
    if not files:
        return None  # compose itself refuses a project without a file
    try:
        proj = composefile.project([f if f.is_absolute() else Path.cwd() / f for f in files])
        found = composefile.services(proj)
    except composefile.ComposeUnreadable as exc:
        return Refusal("unreadable", "", "fail closed", str(exc), "unreadable")
    for name, svc, file in found:
        for req in service_requests(svc, f"$.services.{name}", file, proj):
            refusal = _judge(req.tokens, f"{req.given} ({file.path}:{req.line})", denials)
            if refusal:
                return refusal
    return None


def source_of(token: str, sources: list[dict[str, Any]]) -> str:
    """Which of the workspace's own files asked for `token` ("" when none did)."""
    for src in sources:
        if token in src.get("tokens", []):
            line = f":{src['line']}" if src.get("line") else ""
            return f"{src['file']}{line} ({src['path']})"
    return ""
