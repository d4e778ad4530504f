"""The image a workspace's container runs, resolved the way devcontainer and Docker do.

devcontainer.json names it in one of four ways: `image`; `build.dockerfile` (with
`build.context`, `build.args`, `build.target`); the legacy `dockerFile` (+ `context`);
or `dockerComposeFile` + `service`, whose service has an `image` or a `build`. A
Dockerfile's image is the base of the target stage (or the last one), followed
through `FROM <stage>` references, with `ARG`s declared before the first `FROM`
expanded from their defaults and the build's args; `FROM --platform=... IMAGE AS x`
names IMAGE. The result says which file and line names the image, so a policy
problem points there. What cannot be determined (a missing file, an ARG without a
value, an unknown service) is returned as such, with the reason: never guessed.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from coltec_worker.declaration.source import child_path, load_yaml
from coltec_worker.errors import ConfigError

from coltec import jsonc
from coltec.checks import composefile
from coltec.checks.dockerfile import (
    MAX_BYTES,
    ResolvedImage,
    devcontainer_vars,
    dockerfile_image,
    expand,
    read_limited,
    used_images,
)

# -- devcontainer.json and compose ------------------------------------------------------


def _at(found: ResolvedImage, path: str) -> ResolvedImage:
    return found if found.path else dataclasses.replace(found, path=path)


def _all_at(found: list[ResolvedImage], path: str) -> list[ResolvedImage]:
    return [_at(r, path) for r in found]


def _string_map(value: Any, lookup: Callable[[str], tuple[str, list[str]]]) -> dict[str, str]:
    """build args as a mapping or a KEY=VALUE list, values expanded by `lookup`."""
    items: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        for item in value:
            name, sep, given = str(item).partition("=")
            items.append((name, given if sep else os.environ.get(name)))
    out: dict[str, str] = {}
    for key, val in items:
        if val is not None:
            out[str(key)] = lookup(str(val))[0]
    return out


def _compose_image(dc: dict[str, Any], devcontainer: Path) -> ResolvedImage:
    files = dc.get("dockerComposeFile")
    files = [files] if isinstance(files, str) else files
    service = dc.get("service")
    via = f"compose service '{service}'"
    if not isinstance(files, list) or not files or not isinstance(service, str):
        return ResolvedImage(None, devcontainer, None, via, "dockerComposeFile/service unset")
    paths = [devcontainer.parent / str(f) for f in files]
    env: dict[str, str] = {}
    dotenv = paths[0].parent / ".env"  # compose reads .env from the project directory
    if dotenv.is_file() and dotenv.stat().st_size <= MAX_BYTES:
        for raw in dotenv.read_text(encoding="utf-8", errors="replace").splitlines():
            key, sep, value = raw.strip().partition("=")
            if sep and not key.startswith("#"):
                env[key.strip()] = value.strip().strip("\"'")
    env.update(os.environ)
    found: dict[str, tuple[Any, Path, int | None]] = {}
    for path in paths:
        try:
            read_limited(path)
            doc = load_yaml(path)
        except (LookupError, ConfigError) as exc:
            return ResolvedImage(None, path, None, via, str(exc).splitlines()[0])
        services = doc.data.get("services") if isinstance(doc.data, dict) else None
        svc = services.get(service) if isinstance(services, dict) else None
        for key in ("image", "build"):
            if isinstance(svc, dict) and key in svc:
                pos = doc.position(child_path(child_path("$.services", service), key))
                found[key] = (svc[key], path, pos[0] if pos else None)

    def lookup(text: str) -> tuple[str, list[str]]:
        return expand(text, env, dollar_escape=True)

    base = jsonc.child("$.services", service)
    if "build" in found:  # compose builds the service (and tags it `image`, if given)
        build, path, line = found["build"]
        spec = {"context": build} if isinstance(build, str) else build
        if not isinstance(spec, dict):
            return ResolvedImage(
                None, path, line, via, "build is neither a path nor a mapping", f"{base}.build"
            )
        # Relative paths in every compose file count from the project directory: the
        # first file's folder. The Dockerfile is relative to the context.
        context = paths[0].parent / lookup(str(spec.get("context") or "."))[0]
        if isinstance(spec.get("dockerfile_inline"), str):
            return ResolvedImage(
                None, path, line, via, "dockerfile_inline is not supported here", f"{base}.build"
            )
        dockerfile = context / lookup(str(spec.get("dockerfile") or "Dockerfile"))[0]
        target = spec.get("target")
        args = _string_map(spec.get("args"), lookup)
        chosen = dockerfile_image(dockerfile, args, lookup(str(target))[0] if target else None, via)
        return _at(chosen, f"{base}.build")
    if "image" in found:
        value, path, line = found["image"]
        image, missing = lookup(str(value))
        if missing or not image:
            reason = f"no value for {', '.join(missing)}"
            return ResolvedImage(None, path, line, via, reason, f"{base}.image")
        return ResolvedImage(image, path, line, via, path=f"{base}.image")
    return ResolvedImage(None, paths[-1], None, via, f"no service '{service}' with image or build")


def build_inputs(
    build: dict[str, Any], folder: Path
) -> tuple[Path | None, dict[str, str], str | None]:
    """(Dockerfile, build args, target) of devcontainer.json's build, `build.options`
    included: the CLI appends them to `docker build`, where the last -f/--target/
    --build-arg wins."""
    dockerfile = build.get("dockerfile")
    path = folder / devcontainer_vars(dockerfile)[0] if isinstance(dockerfile, str) else None
    args = _string_map(build.get("args"), devcontainer_vars)
    target = build.get("target") if isinstance(build.get("target"), str) else None
    options = (
        [str(o) for o in build.get("options") or []]
        if isinstance(build.get("options"), list)
        else []
    )
    i = 0
    while i < len(options):
        flag, sep, value = options[i].partition("=")
        if not sep and flag in ("-f", "--file", "--target", "--build-arg") and i + 1 < len(options):
            value, i = options[i + 1], i + 1
        if flag in ("-f", "--file"):
            near = folder / value
            path = near if near.exists() else Path.cwd() / value
        elif flag == "--target":
            target = value
        elif flag == "--build-arg":
            name, has, given = value.partition("=")
            if has:
                args[name] = given
            elif name in os.environ:
                args[name] = os.environ[name]
        i += 1
    return path, args, target


def all_images(devcontainer: Path) -> list[ResolvedImage]:
    """Every image the engine runs or a build uses: the container's (see resolve), every
    compose service's, and what each Dockerfile pulls (syntax frontend, stage bases,
    COPY --from, RUN --mount from)."""
    main = resolve(devcontainer)
    out = [main] if main is not None else []
    try:
        dc = jsonc.loads(read_limited(devcontainer))
    except (LookupError, ValueError):
        return out  # the policy refuses an unreadable devcontainer.json itself
    if not isinstance(dc, dict):
        return out
    folder = devcontainer.parent
    build: dict[str, Any] = dc["build"] if isinstance(dc.get("build"), dict) else {}
    if "dockerFile" in dc:
        build = {**build, "dockerfile": dc["dockerFile"]}
    if "dockerComposeFile" not in dc and isinstance(build.get("dockerfile"), str):
        dockerfile, args, _ = build_inputs(build, folder)
        if dockerfile is not None:
            key = "$.dockerFile" if "dockerFile" in dc else "$.build.dockerfile"
            out += _all_at(used_images(dockerfile, args, "build"), key)
    if "dockerComposeFile" in dc:
        out += _compose_images(dc, devcontainer)
    return out


def _compose_images(dc: dict[str, Any], devcontainer: Path) -> list[ResolvedImage]:
    names = dc.get("dockerComposeFile")
    names = [names] if isinstance(names, str) else names if isinstance(names, list) else []
    paths = [devcontainer.parent / str(n) for n in names]
    if not paths:
        return []
    try:
        proj = composefile.project(paths)
        found = composefile.services(proj)
    except composefile.ComposeUnreadable:
        return []  # the policy refuses an unreadable compose file itself
    out: list[ResolvedImage] = []
    for name, svc, file in found:
        base = jsonc.child("$.services", name)
        via = f"compose service '{name}'"
        build = svc.get("build")
        if build is not None:
            spec = {"context": build} if isinstance(build, str) else build
            if not isinstance(spec, dict) or isinstance(spec.get("dockerfile_inline"), str):
                line = file.line(f"{base}.build")
                out.append(
                    ResolvedImage(
                        None, file.path, line, via, "an inline or unreadable build", f"{base}.build"
                    )
                )
                continue
            context = proj.directory / str(spec.get("context") or ".")
            dockerfile = context / str(spec.get("dockerfile") or "Dockerfile")
            args = _string_map(spec.get("args"), lambda t: (t, []))
            target = str(spec["target"]) if spec.get("target") else None
            out.append(_at(dockerfile_image(dockerfile, args, target, via), f"{base}.build"))
            out += _all_at(used_images(dockerfile, args, via), f"{base}.build")
        elif "image" in svc:
            image = str(svc["image"])
            out.append(
                ResolvedImage(
                    image or None,
                    file.path,
                    file.line(f"{base}.image"),
                    via,
                    "" if image else "empty image",
                    f"{base}.image",
                )
            )
    return out


def resolve(devcontainer: Path) -> ResolvedImage | None:
    """The image `devcontainer.json` makes the engine run; None when it names none."""
    try:
        text = read_limited(devcontainer)
        dc = jsonc.loads(text)
    except (LookupError, ValueError):
        return None  # the lifecycle's own checks report a broken devcontainer.json
    if not isinstance(dc, dict):
        return None
    lines = jsonc.key_lines(text)
    folder = devcontainer.parent

    def from_build(build: dict[str, Any], key: str) -> ResolvedImage:
        dockerfile, args, target = build_inputs(build, folder)
        if dockerfile is None:
            return ResolvedImage(
                None, devcontainer, lines.get(key), key, "no dockerfile", f"$.{key}"
            )
        return _at(dockerfile_image(dockerfile, args, target, key), f"$.{key}")

    if isinstance(dc.get("dockerComposeFile"), str | list):
        return _compose_image(dc, devcontainer)
    build: dict[str, Any] = dc["build"] if isinstance(dc.get("build"), dict) else {}
    if "dockerFile" in dc:  # the legacy spelling, which the CLI prefers when both are given
        return from_build({**build, "dockerfile": dc["dockerFile"]}, "dockerFile")
    if "dockerfile" in build:
        return from_build(build, "build.dockerfile")
    if isinstance(dc.get("image"), str):
        image, missing = devcontainer_vars(dc["image"])
        if missing or not image:
            reason = f"no value for {', '.join(missing) or 'image'}"
            return ResolvedImage(None, devcontainer, lines.get("image"), "image", reason)
        return ResolvedImage(image, devcontainer, lines.get("image"), "image")
    return None
