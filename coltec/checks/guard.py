"""The guard: cs:up's `--docker-path` and `--docker-compose-path` for `devcontainer up`.

The devcontainer CLI runs every docker and compose command through these two files.
Each judges the real command line the CLI built — Features, image metadata and
compose overrides included — against the org policy (coltec.checks.enforce) and refuses
a denied one before anything runs: it prints the rule, the policy line and the file and
line of the workspace that asked for it, and exits 125 (docker's own code for "the
docker command itself failed"). Anything else it hands to the real docker by exec.

The context (deny table, allowed images, the workspace's own requests) is a JSON file
cs:up writes beside the two shims, in a private folder that lives as long as the run.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from coltec import proc
from coltec.checks import deny, enforce
from coltec.checks.compliance import load_exceptions
from coltec.checks.effective import as_json, effective
from coltec.checks.policy import PolicyStore, display
from coltec.workspaces import ANSWERS_FILE, Workspace

CONTEXT = "context.json"
REFUSED = "refused.txt"
BUILT = "built.txt"
EXIT_REFUSED = 125


def context_for(ws: Workspace, docker_host: str | None) -> dict[str, Any]:
    """What the guard needs to judge this workspace's commands (see module docstring)."""
    policy = PolicyStore().for_org(ws.org)
    exemptions, _ = load_exceptions(ws.dir / ANSWERS_FILE, policy.rule_names())
    exempt = {e.rule for e in exemptions}
    images = policy.setting("rules.allowed_base_images").value
    local = not docker_host or docker_host.startswith("unix://")
    return {
        "workspace": ws.key,
        "devcontainer": display(ws.devcontainer_file),
        "denials": [asdict(d) for d in deny.table(policy, exempt, docker_host)],
        "allowed_images": ["*"] if "base-image" in exempt else list(images),
        "sources": as_json(effective(ws.devcontainer_file, ws.dir)),
        "local": local,
        "docker": proc.which("docker") or "docker",
        "compose": proc.which("docker-compose") or "",
    }


def _shim(folder: Path, name: str, mode: str) -> Path:
    path = folder / name
    path.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "from coltec.checks.guard import main\n"
        f"sys.exit(main({mode!r}, {str(folder / CONTEXT)!r}, sys.argv[1:]))\n",
        encoding="utf-8",
    )
    path.chmod(0o700)
    return path


@contextmanager
def guarded(ws: Workspace, docker_host: str | None) -> Iterator[tuple[list[str], Path]]:
    """(the `devcontainer` arguments that put the guard in place, its refusal file)."""
    folder = Path(tempfile.mkdtemp(prefix="coltec-guard-"))
    try:
        (folder / CONTEXT).write_text(json.dumps(context_for(ws, docker_host)), encoding="utf-8")
        docker = _shim(folder, "docker", "docker")
        compose = _shim(folder, "docker-compose", "compose")
        yield (
            ["--docker-path", str(docker), "--docker-compose-path", str(compose)],
            folder / REFUSED,
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def visible(text: str) -> str:
    """Control characters shown as escapes: a command line cannot rewrite the terminal."""
    return "".join(
        c if c.isprintable() or c == " " else c.encode("unicode_escape").decode() for c in text
    )


def refusal_text(refusal: enforce.Refusal, what: str, ctx: dict[str, Any]) -> str:
    source = enforce.source_of(refusal.token, ctx["sources"]) or (
        f"not the workspace's own files: a Feature or the image's metadata "
        f"(see {ctx['devcontainer']}: features, image)"
    )
    if refusal.rule == "base-image":
        return (
            f"coltec guard refused `{what}` of {ctx['workspace']}: policy rule 'base-image' "
            f"({refusal.where}): {refusal.given} matches none of {refusal.pattern}"
        )
    return (
        f"coltec guard refused `{what}` of {ctx['workspace']}: policy rule '{refusal.rule}' "
        f"({refusal.where}): '{refusal.given}' ({refusal.token}) matches denied "
        f"'{refusal.pattern}'; asked for by {source}"
    )


def judge(mode: str, args: list[str], ctx: dict[str, Any], folder: Path) -> str:
    """The refusal message for this command line, or "" to run it."""
    denials = [deny.Denial(**d) for d in ctx["denials"]]
    refusal: enforce.Refusal | None = None
    if mode == "compose":
        refusal = enforce.check_compose(args, denials)
        return refusal_text(refusal, "docker-compose " + " ".join(args[:1]), ctx) if refusal else ""
    words, rest = enforce.subcommand(args)
    verb = words[-1] if words else ""
    if verb in ("run", "create") and words[0] in ("run", "create", "container"):
        refusal = enforce.check_run(rest, denials, local=ctx["local"])
    elif verb == "create" and words[0] == "volume":
        refusal = enforce.check_volume_create(rest, denials, local=ctx["local"])
    elif verb == "build":
        built_file = folder / BUILT
        built = set(built_file.read_text().split()) if built_file.is_file() else set()
        refusal, tags = enforce.check_build(rest, denials, ctx["allowed_images"], built)
        if refusal is None and tags:
            with built_file.open("a", encoding="utf-8") as handle:
                handle.write("".join(f"{t}\n" for t in tags))
    elif words == ["compose"]:
        refusal = enforce.check_compose(rest, denials)
    return refusal_text(refusal, "docker " + " ".join(words), ctx) if refusal else ""


def main(mode: str, context_file: str, args: list[str]) -> int:
    folder = Path(context_file).parent
    ctx = json.loads(Path(context_file).read_text(encoding="utf-8"))
    refused = visible(judge(mode, args, ctx, folder))
    if refused:
        with (folder / REFUSED).open("a", encoding="utf-8") as handle:
            handle.write(refused + "\n")
        print(refused, file=sys.stderr)
        return EXIT_REFUSED
    real = ctx["docker"] if mode == "docker" else ctx["compose"]
    if not real:
        print("docker-compose is not installed", file=sys.stderr)
        return 127
    os.execv(real, [real, *args])
    return 127  # pragma: no cover - execv does not return
