"""`mise run demo`: a sample workspace, validated, synced once on this host, listed.

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
from coltec.template.create import new_workspace
from coltec.workspaces import Workspace, workspace

DEMO_KEY = "demo/sample-dev"
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


def run_demo(key: str = DEMO_KEY) -> DemoRun:
    ws = workspace(key)
    created = False
    if not ws.spec_file.exists():
        new_workspace(key, ["persistence_enabled=true", "project=sample"], defaults=True)
        created = True
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
    )
