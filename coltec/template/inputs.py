"""What a render reads from the template repository at one commit: its inputs.

copier reads `copier.yaml` (and the YAML files it `!include`s), the `_subdirectory`,
and every file a template pulls in by name — `{% include %}`, `{% import %}`,
`{% from %}`, `{% extends %}`, resolved from the repository's root (copier's loader
root). A commit that changes none of these cannot change a render, so it is no newer
template for any workspace. Where the inputs cannot be known for sure — a computed
include name, a templated `_subdirectory`, Jinja extensions (Python code), custom
delimiters, no subdirectory at all — every file of the repository counts (None).
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from coltec import proc
from coltec.errors import TemplateError

CONFIG_NAMES = ("copier.yaml", "copier.yml")
_STATEMENT = re.compile(r"\{%[-+]?\s*(?:include|import|from|extends)\s+(?P<arg>.*?)(?:[-+]?%\}|$)")
_LITERAL = re.compile(r"""\s*(?P<q>['"])(?P<name>[^'"]+)(?P=q)""")
_LITERAL_LIST = re.compile(r"""\s*\[(?P<items>(?:\s*(['"])[^'"]+\2\s*,?)+)\]""")
# What may follow a literal name without making the statement pick another file.
_TRAILER = re.compile(
    r"(?:\s+(?:ignore\s+missing|with\s+context|without\s+context|as\s+\w+|import\s.*))*\s*"
)
_GLOB_CHARS = re.compile(r"[*?\[]")


def _git() -> str:
    return proc.require("git", "install git")


@dataclass(frozen=True)
class Inputs:
    """Repository paths a render reads: files, and folders ending in '/'."""

    paths: frozenset[str]
    config: dict[str, Any]  # copier.yaml's settings (the `_`-keys), for callers

    def covers(self, path: str) -> bool:
        return any(path == p or (p.endswith("/") and path.startswith(p)) for p in self.paths)


def _config(text: str) -> tuple[dict[str, Any], list[str]]:
    """(copier.yaml's settings of every document, its `!include` patterns, not followed)."""
    included: list[str] = []

    class Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        pass  # libyaml's parser when pyyaml has it: copier.yaml is long (~0.15 s in Python)

    Loader.add_constructor("!include", lambda _loader, node: included.append(str(node.value)))
    settings: dict[str, Any] = {}
    try:
        for doc in yaml.load_all(text, Loader=Loader):
            if isinstance(doc, dict):
                settings.update({k: v for k, v in doc.items() if str(k).startswith("_")})
    except yaml.YAMLError as exc:
        raise TemplateError(
            f"the template's copier.yaml cannot be read: {exc}", "fix copier.yaml"
        ) from None
    return settings, included


def _pattern_root(pattern: str) -> str:
    """A glob's literal leading folder ('conf/*.yml' -> 'conf/'), or the path itself."""
    parts = PurePosixPath(pattern).parts
    literal: list[str] = []
    for part in parts:
        if _GLOB_CHARS.search(part):
            return "/".join(literal) + "/" if literal else ""
        literal.append(part)
    return "/".join(literal)


def _named(arg: str) -> list[str] | None:
    """The template names a Jinja statement's argument gives literally; None if computed."""
    if (match := _LITERAL_LIST.match(arg)) and _TRAILER.fullmatch(arg[match.end() :]):
        return re.findall(r"""['"]([^'"]+)['"]""", match["items"])
    if (match := _LITERAL.match(arg)) and _TRAILER.fullmatch(arg[match.end() :]):
        return [match["name"]]
    return None


def _includes(repo: Path, sha: str, paths: list[str]) -> set[str] | None:
    """Files named by include-like statements in `paths` at `sha` (None: a computed name)."""
    found = proc.run(
        [_git(), "grep", "-I", "-h", "-E", r"\{%[-+]?\s*(include|import|from|extends)\s", sha,
         "--", *paths],
        cwd=repo,
        check=False,
    )  # fmt: skip
    if found.returncode not in (0, 1):
        raise TemplateError(
            f"cannot read the template at {sha} in {repo}: {found.stderr.strip()}",
            "the recorded _commit must exist in the template repository",
        )
    names: set[str] = set()
    for line in found.stdout.splitlines():
        for statement in _STATEMENT.finditer(line):
            named = _named(statement["arg"])
            if named is None:
                return None
            names.update(named)
    return names


def _subdirectory_folders(sub: str) -> set[str] | None:
    """The folders a `_subdirectory` can name: itself, or for a templated one (an answer
    picks it, as copier.yaml's `extension` picks extensions/<name>/template) the top
    folder of each literal in it; None when it names none."""
    if "{" not in sub:
        return {f"{sub}/"}
    literals = re.findall(r"""['"]([^'"{}]*)['"]""", sub)
    tops = {part.strip("/").split("/", 1)[0] for part in literals} - {"", ".", ".."}
    return {f"{top}/" for top in tops} or None


def subdirectory(config: dict[str, Any], answers: dict[str, Any]) -> str | None:
    """The subdirectory a render with `answers` uses (None: it cannot be rendered here)."""
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    sub = str(config.get("_subdirectory") or "")
    if "{" not in sub:
        return sub.strip("/")
    try:
        env = SandboxedEnvironment(undefined=StrictUndefined)
        return env.from_string(sub).render({"extension": "", **answers}).strip("/")
    except Exception:
        return None


def _link_targets(repo: Path, sha: str, folder: str) -> set[str] | None:
    """Repository paths the symlinks below `folder` point at (an extension's template
    links the base template's files); None when one points outside the repository."""
    listed = proc.run([_git(), "ls-tree", "-r", "-z", sha, "--", f"{folder}/"], cwd=repo)
    targets: set[str] = set()
    for entry in filter(None, listed.stdout.split("\0")):
        meta, _, path = entry.partition("\t")
        mode, _kind, blob = meta.split()
        if mode != "120000":
            continue
        link = proc.run([_git(), "cat-file", "blob", blob], cwd=repo).stdout
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), link))
        if link.startswith("/") or joined == ".." or joined.startswith("../"):
            return None
        targets.add(joined)
    return targets


def template_inputs(repo: Path, sha: str, sub: str | None = None) -> Inputs | None:
    """The inputs of a render at commit `sha` of `repo` (None: every file counts).

    `sub`: the subdirectory one workspace renders from (its answers pick it when
    `_subdirectory` is templated): only that one's files, and what its links and
    includes name, count for it.
    """
    listed = proc.run([_git(), "ls-tree", "--name-only", sha], cwd=repo, check=False)
    top = set(listed.stdout.splitlines()) if listed.returncode == 0 else set()
    conf_name = next((n for n in CONFIG_NAMES if n in top), None)
    if conf_name is None:
        return None
    shown = proc.run([_git(), "show", f"{sha}:{conf_name}"], cwd=repo)
    settings, yaml_includes = _config(shown.stdout)
    configured = str(settings.get("_subdirectory") or "").strip("/")
    if not configured or settings.get("_jinja_extensions") or settings.get("_envops"):
        return None
    folders = _subdirectory_folders(configured) if not sub else {f"{sub.strip('/')}/"}
    if folders is None:
        return None
    if sub:
        linked = _link_targets(repo, sha, sub.strip("/"))
        if linked is None:
            return None
        folders |= linked
    paths = {conf_name, *folders, *(_pattern_root(p) for p in yaml_includes)}
    if "" in paths:
        return None
    scan = sorted(paths)
    while scan:  # follow includes of includes
        named = _includes(repo, sha, scan)
        if named is None:
            return None
        fresh = {n.lstrip("/") for n in named} - paths
        fresh = {n for n in fresh if not Inputs(frozenset(paths), {}).covers(n)}
        paths |= fresh
        scan = sorted(fresh)
    return Inputs(frozenset(paths), settings)


def rendered_names(
    repo: Path, sha: str, inputs: Inputs, answers: dict[str, Any]
) -> set[str] | None:
    """Workspace-relative paths a render at `sha` with `answers` writes (None: unknown).

    The subdirectory's files with the templates suffix dropped and templated names
    rendered; a name that renders empty is skipped (as copier skips it). A superset is
    fine for the callers (they only look closer at these paths).
    """
    from jinja2 import StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    sub = subdirectory(inputs.config, answers)
    if not sub:
        return None
    suffix = str(inputs.config.get("_templates_suffix", ".jinja") or "")
    listed = proc.run(
        [_git(), "ls-tree", "-r", "-z", "--name-only", sha, "--", f"{sub}/"], cwd=repo
    )
    env = SandboxedEnvironment(undefined=StrictUndefined)
    context = {
        **answers,
        "_copier_conf": {"answers_file": inputs.config.get("_answers_file", ".copier-answers.yml")},
    }
    names: set[str] = set()
    for path in filter(None, listed.stdout.split("\0")):
        rel = path[len(sub) + 1 :]
        if suffix and rel.endswith(suffix):
            rel = rel[: -len(suffix)]
        if "{" in rel:
            try:
                parts = [env.from_string(part).render(context) for part in rel.split("/")]
            except Exception:
                return None
            if not all(parts):
                continue
            rel = "/".join(parts)
        names.add(rel)
    return names
