"""`mise run demo`: a sample workspace, validated, synced once on this host, listed.

A second run refreshes the sample: when the template changed since it was rendered,
its template files are rendered again (the workspace is git-ignored, so `cs:update`
leaves it alone); the sample's work (hello.txt) and the worker's state stay. A template
file edited by hand is never overwritten: the sample is then reused as it is.

Inside a container the workspace is mounted at /workspace. On the host the demo runs
the real worker against a copy of the spec whose local paths point at the
workspace's folder instead, with no remote configured, so the worker uses its
built-in local remote (a folder under the user's data directory).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from coltec_worker.declaration.resolve import builtin_root
from coltec_worker.declaration.source import load_yaml

from coltec import proc
from coltec.checks.run import ValidationRun, validate_files
from coltec.template import manifest, rendering
from coltec.template.create import new_workspace
from coltec.template.org_install import write_org_install
from coltec.template.outdated import fresh_render
from coltec.template.versions import Versions
from coltec.workspaces import ANSWERS_FILE, DEMO_KEY, Workspace, workspace

__all__ = ["DEMO_KEY", "DemoRun", "run_demo"]
CONTAINER_ROOT = "/workspace"
_REMOTE_VARS = ("RCLONE_REMOTE_NAME", "RCLONE_BUCKET")


@dataclass
class DemoRun:
    workspace: Workspace
    created: bool
    validation: ValidationRun
    worker_exit: int
    worker_log: str
    status: str
    remote_root: Path
    remote_files: list[str]
    refreshed: str = ""  # what a re-run did to an existing sample ('' : nothing to do)


def host_spec(ws: Workspace) -> Path:
    """A copy of the spec with /workspace paths mapped to the workspace's folder."""
    data = load_yaml(ws.spec_file).data
    for item in (data.get("persistence") or {}).get("sync") or []:
        path = str(item.get("path", ""))
        if path == CONTAINER_ROOT or path.startswith(CONTAINER_ROOT + "/"):
            item["path"] = str(ws.dir.resolve()) + path[len(CONTAINER_ROOT) :]
    out = ws.dir / ".coltec" / "demo" / "workspace-spec.host.yaml"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return out


def local_env(base: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without any remote configuration: the built-in remote."""
    return {
        k: v
        for k, v in base.items()
        if k not in _REMOTE_VARS and not k.startswith("RCLONE_CONFIG_")
    }


def refresh(ws: Workspace) -> str:
    """Render the sample's template files again when the template is newer (see above)."""
    answers = rendering.read_answers(ws.dir)
    src, commit = answers.get("_src_path"), answers.get("_commit")
    if not isinstance(src, str) or not isinstance(commit, str):
        return ""
    if not Versions().state(ws.dir, src, commit).newer:
        return ""
    old, _ = fresh_render(answers)
    present = {rel: ws.dir / rel for rel in old if (ws.dir / rel).is_file()}
    edited = sorted(
        rel
        for rel, path in present.items()
        if rel != ANSWERS_FILE and path.read_bytes() != old[rel]
    )
    if edited:
        return (
            f"kept as it is (template {commit}): your edits to {', '.join(edited)} are never "
            f"overwritten; remove {ws.dir} to start the sample over"
        )
    saved = {rel: (path.read_bytes(), path.stat().st_mode) for rel, path in present.items()}
    for path in present.values():
        path.unlink()
    try:
        rendering.copy(
            rendering.source_for_new(), ws.dir, rendering.user_answers(answers), defaults=True
        )
    except BaseException:
        for rel, (content, mode) in saved.items():
            (ws.dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (ws.dir / rel).write_bytes(content)
            (ws.dir / rel).chmod(mode)
        raise
    manifest.discard(ws.dir)  # it described the old render; cs:outdated renders instead
    write_org_install(ws)
    new = rendering.read_answers(ws.dir).get("_commit", "")
    return f"refreshed: template files rendered again ({commit} -> {new})"


def run_demo(key: str = DEMO_KEY) -> DemoRun:
    ws = workspace(key)
    created, refreshed = False, ""
    if not ws.spec_file.exists():
        new_workspace(key, ["persistence_enabled=true", "project=sample"], defaults=True)
        created = True
    else:
        refreshed = refresh(ws)
    (ws.dir / "hello.txt").write_text("hello from the coltec demo\n", encoding="utf-8")
    validation = validate_files([ws.spec_file])
    env = local_env(os.environ)
    worker = proc.require("coltec-worker", "run ./dev setup")
    state = ws.state_dir
    argv = [worker, "--once", "--start-delay", "0", "--config", str(host_spec(ws))]
    argv += ["--state-dir", str(state)]
    result = proc.run(argv, env=env, check=False, timeout=600)
    status = proc.run([worker, "status", "--state-dir", str(state)], env=env, check=False)
    remote = Path(builtin_root(env, Path.home()))
    files: list[str] = []
    plan = validation.reports[0].plan if validation.reports else None
    for path in plan.paths if plan else ():  # remote paths as the pipeline resolved them
        prefix = remote / path.remote_path
        files += sorted(str(p.relative_to(remote)) for p in prefix.rglob("*") if p.is_file())
    return DemoRun(
        ws,
        created,
        validation,
        result.returncode,
        result.stderr,
        status.stdout or status.stderr,
        remote,
        files,
        refreshed,
    )
