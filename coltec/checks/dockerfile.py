"""Dockerfiles as docker reads them: instructions (heredoc bodies skipped), ARG
expansion, the base image of a stage. Also devcontainer's ${localEnv:VAR} expansion."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MAX_BYTES = 1 << 20  # a Dockerfile or compose file larger than this is not read


@dataclass(frozen=True)
class ResolvedImage:
    image: str | None  # None: cannot be determined; `reason` says why
    file: Path  # the file whose line names it
    line: int | None
    via: str  # "image", "build.dockerfile", "dockerFile", "compose service 'app'"
    reason: str = ""
    # The JSON path of the setting that names it ($.image, $.services.app.image); in a
    # Dockerfile, of the setting that names the Dockerfile ($.build.dockerfile).
    path: str = ""


_VAR = re.compile(r"\$\$|\$\{(?P<braced>[^}]*)\}|\$(?P<plain>[A-Za-z_][A-Za-z0-9_]*)")


_BRACED = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-+?])(?P<word>.*))?\Z", re.S)


_DEVCONTAINER_VAR = re.compile(r"\$\{(?:localEnv|env):(?P<name>[^}:]*)(?::(?P<default>[^}]*))?\}")


def expand(text: str, values: Mapping[str, str], *, dollar_escape: bool) -> tuple[str, list[str]]:
    """Shell-style `$X`, `${X}`, `${X:-w}`, `${X-w}`, `${X:+w}`, `${X+w}` (Dockerfile, compose).

    Returns the text and the names that had no value (their reference is dropped).
    """
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$" if dollar_escape else "$$"
        braced = m.group("braced")
        if braced is None:
            name, op, word = m.group("plain"), None, ""
        else:
            parts = _BRACED.match(braced)
            if parts is None:
                missing.append(braced)
                return ""
            name, op, word = parts["name"], parts["op"], parts["word"] or ""
        value = values.get(name)
        empty = not value
        if op in (":-", "-") and (value is None or (op == ":-" and empty)):
            return expand(word, values, dollar_escape=dollar_escape)[0]
        if op in (":+", "+"):
            keep = value is not None and not (op == ":+" and empty)
            return expand(word, values, dollar_escape=dollar_escape)[0] if keep else ""
        if value is None:
            missing.append(name)
            return ""
        return value

    return _VAR.sub(sub, text), missing


def devcontainer_vars(text: str) -> tuple[str, list[str]]:
    """`${localEnv:X}` / `${localEnv:X:default}` from this process's environment.

    `cs:up` runs the devcontainer CLI with the same environment, so this is the value
    the engine will see. Any other `${...}` variable cannot be known here.
    """
    missing: list[str] = []

    def sub(m: re.Match[str]) -> str:
        value = os.environ.get(m["name"])
        if value is None:
            if m["default"] is not None:
                return m["default"]
            missing.append(m["name"])
            return ""
        return value

    out = _DEVCONTAINER_VAR.sub(sub, text)
    missing += re.findall(r"\$\{([^}]*)\}", out)
    return out, missing


def read_limited(path: Path) -> str:
    """A regular file's UTF-8 text of at most MAX_BYTES; else LookupError saying why."""
    if not path.is_file():
        raise LookupError(f"{path} does not exist")
    if path.stat().st_size > MAX_BYTES:
        raise LookupError(f"{path} is larger than {MAX_BYTES} bytes")
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LookupError(f"{path} cannot be read ({exc})") from None


_HEREDOC = re.compile(r"""<<(-?)["']?([A-Za-z_][A-Za-z0-9_]*)["']?""")


def instructions(text: str) -> list[tuple[int, str, str]]:
    """(first line, KEYWORD, arguments) of each Dockerfile instruction, continuations joined."""
    text = text.removeprefix("\ufeff")
    escape = "\\"
    for raw in text.splitlines():  # parser directives come first, before anything else
        directive = re.match(r"\s*#\s*(\w+)\s*=\s*(\S+)", raw)
        if not directive:
            break
        if directive[1].lower() == "escape" and directive[2] in ("\\", "`"):
            escape = directive[2]
    out: list[tuple[int, str, str]] = []
    buf, start = "", 0
    heredocs: list[tuple[str, bool]] = []  # (terminator, tabs stripped) still open
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if heredocs:  # the body of `RUN <<EOF`: never instructions, whatever it says
            if (raw if not heredocs[0][1] else raw.lstrip("\t")) == heredocs[0][0]:
                heredocs.pop(0)
            continue
        if not line or line.startswith("#"):
            continue  # also inside a continuation: Docker drops comment lines there
        if not buf:
            start = n
        if line.endswith(escape):
            buf += line[: -len(escape)] + " "
            continue
        buf += line
        keyword, _, rest = buf.partition(" ")
        out.append((start, keyword.upper(), rest.strip()))
        heredocs = [(m[2], m[1] == "-") for m in _HEREDOC.finditer(rest)]
        buf = ""
    if buf.strip():
        keyword, _, rest = buf.strip().partition(" ")
        out.append((start, keyword.upper(), rest.strip()))
    return out


def _arg_declarations(rest: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for word in re.findall(r"""(?:[^\s"']|"[^"]*"|'[^']*')+""", rest):
        name, sep, default = word.partition("=")
        if len(default) >= 2 and default[0] == default[-1] and default[0] in "\"'":
            default = default[1:-1]
        out.append((name, default if sep else None))
    return out


@dataclass(frozen=True)
class _Stage:
    name: str | None
    image: str
    line: int
    missing: tuple[str, ...]


def dockerfile_image(
    dockerfile: Path, args: Mapping[str, str], target: str | None, via: str
) -> ResolvedImage:
    """The base image of the target (else last) stage, followed through stage references."""
    try:
        text = read_limited(dockerfile)
    except LookupError as exc:
        return ResolvedImage(None, dockerfile, None, via, str(exc))
    scope: dict[str, str] = {}
    stages: list[_Stage] = []
    for line, keyword, rest in instructions(text):
        if keyword == "ARG" and not stages:  # only ARGs before the first FROM reach a FROM
            for name, default in _arg_declarations(rest):
                if name in args:
                    scope[name] = args[name]
                elif default is not None:
                    scope[name] = expand(default, scope, dollar_escape=False)[0]
        elif keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]  # --platform=...
            if not words:
                return ResolvedImage(None, dockerfile, line, via, "FROM names no image")
            image, missing = expand(words[0], scope, dollar_escape=False)
            alias = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else None
            stages.append(_Stage(alias, image, line, tuple(missing)))
    if not stages:
        return ResolvedImage(None, dockerfile, None, via, f"{dockerfile.name} has no FROM")
    index = len(stages) - 1
    if target:
        names = [s.name for s in stages]
        if target.lower() not in names:
            return ResolvedImage(None, dockerfile, None, via, f"no stage named '{target}'")
        index = names.index(target.lower())
    stage = stages[index]
    while True:  # FROM <earlier stage>: that stage's base
        earlier = [s for s in stages[: stages.index(stage)] if s.name == stage.image.lower()]
        if not earlier:
            break
        stage = earlier[-1]
    if stage.missing or not stage.image:
        unset = ", ".join(stage.missing) or "the image"
        reason = f"FROM {stage.image or '(empty)'}: no value for {unset}"
        return ResolvedImage(None, dockerfile, stage.line, via, reason)
    return ResolvedImage(stage.image, dockerfile, stage.line, via)


_SYNTAX = re.compile(r"\s*#\s*syntax\s*=\s*(\S+)", re.I)
_FROM_FLAG = re.compile(r"--from=(\S+)")
_MOUNT_FROM = re.compile(r"--mount=\S*?\bfrom=([^,\s]+)")


def used_images(dockerfile: Path, args: Mapping[str, str], via: str) -> list[ResolvedImage]:
    """Every image a build of this Dockerfile runs or copies from, besides its stages:
    the `# syntax=` frontend, each stage's base, `COPY --from=IMAGE`, `RUN --mount=from=IMAGE`.
    (BuildKit may skip unused stages; the legacy builder builds them all: all count.)"""
    try:
        text = read_limited(dockerfile)
    except LookupError as exc:
        return [ResolvedImage(None, dockerfile, None, via, str(exc))]
    out: list[ResolvedImage] = []
    for n, raw in enumerate(text.removeprefix("\ufeff").splitlines(), 1):
        m = _SYNTAX.match(raw)
        if m:
            out.append(ResolvedImage(m[1], dockerfile, n, f"{via} # syntax= frontend"))
        if not raw.lstrip().startswith("#"):
            break
    scope: dict[str, str] = {}
    stages: list[str] = []
    for line, keyword, rest in instructions(text):
        if keyword == "ARG" and not stages:
            for name, default in _arg_declarations(rest):
                if name in args:
                    scope[name] = args[name]
                elif default is not None:
                    scope[name] = expand(default, scope, dollar_escape=False)[0]
            continue
        refs: list[tuple[str, str]] = []
        if keyword == "FROM":
            words = [w for w in rest.split() if not w.startswith("--")]
            refs = [(words[0], "FROM")] if words else []
            alias = words[2].lower() if len(words) >= 3 and words[1].lower() == "as" else ""
        refs += [(r, f"{keyword} --from") for r in _FROM_FLAG.findall(rest) if keyword != "FROM"]
        refs += [(r, "RUN --mount from") for r in _MOUNT_FROM.findall(rest)]
        for ref, what in refs:
            image, missing = expand(ref.strip("\"'"), scope, dollar_escape=False)
            if image.lower() in stages or image.isdigit() or image.lower() == "scratch":
                continue  # an earlier stage (by name or index), or no image at all
            reason = f"no value for {', '.join(missing)}" if missing else ""
            out.append(
                ResolvedImage(None if missing else image, dockerfile, line, f"{via} {what}", reason)
            )
        if keyword == "FROM":
            stages.append(alias or f"#{len(stages)}")
    return out
