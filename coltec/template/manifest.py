"""What the template rendered for a workspace: a manifest of file hashes beside its answers.

`cs:outdated` looks for hand edits by comparing each rendered file with what the
template writes for the same answers at the same version. Rendering that again costs
copier ~150 ms per workspace; the manifest (`.coltec-rendered.json`, next to
`.copier-answers.yml`) keeps the sha256 of every file the render wrote, so the check is
a few file hashes. cs:new, cs:update and cs:adopt write it when they know the files
are exactly a render.

A manifest is only believed when it describes the render the answers file asks for:
the same `_commit`, the same answers, and a seal over its own content that still
matches. Anything else (missing, unreadable, hand-edited, another version's, a render
of a template with uncommitted changes, which `_commit` cannot name) sends the caller
back to a fresh render, so a manifest can make the check faster but never hide an
edit.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from coltec import proc
from coltec.workspaces import ANSWERS_FILE

MANIFEST_FILE = ".coltec-rendered.json"
_FORMAT = 1
_MAX_BYTES = 1 << 20  # a manifest lists a render's files: far below this


def _digest(data: object) -> str:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def answers_digest(answers: Mapping[str, Any]) -> str:
    """The answers a render depends on, with the source's spelling left out (relative in
    the nexus, absolute in a scratch render: the same template either way)."""
    return _digest({k: v for k, v in answers.items() if k != "_src_path"})


def _sealed(body: dict[str, Any]) -> str:
    return _digest({"coltec-rendered": _FORMAT, **body})


def file_hash(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def write(ws_dir: Path, answers: Mapping[str, Any], files: Mapping[str, bytes]) -> Path:
    """Record `files` (a render, by POSIX relative path) as the render of `answers`."""
    body = {
        "commit": str(answers.get("_commit", "")),
        "answers": answers_digest(answers),
        "files": {rel: file_hash(c) for rel, c in sorted(files.items()) if rel != ANSWERS_FILE},
    }
    path = ws_dir / MANIFEST_FILE
    text = json.dumps({"format": _FORMAT, **body, "seal": _sealed(body)}, indent=1) + "\n"
    path.write_text(text, encoding="utf-8")
    return path


def write_from_disk(ws_dir: Path, answers: Mapping[str, Any], names: list[str]) -> Path:
    """Record the workspace's own files `names` (just written by a render) as the render."""
    files = {rel: (ws_dir / rel).read_bytes() for rel in names if (ws_dir / rel).is_file()}
    return write(ws_dir, answers, files)


def discard(ws_dir: Path) -> None:
    """Drop a manifest that no longer describes a render (it is this tool's own file)."""
    (ws_dir / MANIFEST_FILE).unlink(missing_ok=True)


def load(ws_dir: Path, answers: Mapping[str, Any]) -> dict[str, str] | None:
    """The recorded files' hashes when the manifest describes the render `answers` asks
    for; None otherwise (the caller renders again)."""
    path = ws_dir / MANIFEST_FILE
    try:
        if not path.is_file() or path.stat().st_size > _MAX_BYTES:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != _FORMAT:
        return None
    body = {k: data.get(k) for k in ("commit", "answers", "files")}
    files = body["files"]
    if (
        data.get("seal") != _sealed(body)
        or body["commit"] != str(answers.get("_commit", ""))
        or body["answers"] != answers_digest(answers)
        or not isinstance(files, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items())
    ):
        return None
    return files


def compare(ws_dir: Path, recorded: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(recorded files whose content differs, recorded files that are missing)."""
    edited, missing = [], []
    for rel, digest in recorded.items():
        path = ws_dir / rel
        if not path.is_file():
            missing.append(rel)
        elif file_hash(path.read_bytes()) != digest:
            edited.append(rel)
    return edited, missing


def template_clean(repo: Path | None) -> bool:
    """Whether a local template's inputs have no uncommitted changes, so `_commit` names
    exactly what was rendered (a remote source is always rendered from a commit)."""
    if repo is None:
        return True
    from coltec.template.inputs import template_inputs

    git = proc.require("git", "install git")
    head = proc.run([git, "rev-parse", "--verify", "--quiet", "HEAD"], cwd=repo, check=False)
    if head.returncode != 0:
        return False
    inputs = template_inputs(repo, head.stdout.strip())
    paths = sorted(inputs.paths) if inputs is not None else ["."]
    found = proc.run([git, "status", "--porcelain", "--untracked-files=all", "--", *paths],
                     cwd=repo, check=False)  # fmt: skip
    return found.returncode == 0 and not found.stdout.strip()
