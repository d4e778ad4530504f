"""`cs:list`: every workspace at a glance — checker (collect rows) apart from reporter.

One `docker ps` gives every coltec container; `coltec-worker status --json` runs only
in the running ones (in parallel). Without an engine the workspaces are still listed
and the container columns say why they are empty. Workspaces whose worker is not
asked (no running container, or no engine) show the last sync recorded in their state
directory, which lives in the workspace folder on the host.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from coltec_worker.declaration.source import load_yaml
from coltec_worker.errors import ConfigError
from coltec_worker.sync.state import Layout
from coltec_worker.sync.status import collect as collect_status

from coltec.errors import ColtecError
from coltec.runtime.docker import Container, DockerEngine, by_workspace, containers, ping
from coltec.runtime.drift import drift_of
from coltec.template import rendering
from coltec.workspaces import Workspace, all_workspaces, nexus_id

STATUS_TIMEOUT = 20.0
PARALLEL = 8


@dataclass
class PathSync:
    """One sync path's last run, from the worker's status."""

    name: str
    outcome: str
    last_end: str | None
    age_seconds: int | None
    error: str | None = None


@dataclass
class FleetRow:
    workspace: str
    org: str
    name: str
    host: str = ""  # the host its container is on (cs:list across hosts); "" = none found
    project: str = ""
    env: str = ""
    description: str = ""  # metadata.description of its declaration, else the answer
    template_version: str = ""
    outdated: bool | None = None  # None: unknown (template not a local checkout)
    container: str | None = None  # docker state; None: no container, or Docker unavailable
    container_id: str = ""
    drift: str | None = None  # current | drifted | unknown; None: no container
    worker_running: bool | None = None  # None: not asked (container not running)
    paths: list[PathSync] = field(default_factory=list)
    note: str = ""


@dataclass
class Fleet:
    rows: list[FleetRow]
    docker: bool  # container columns are filled
    docker_error: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "docker": self.docker,
            "docker_error": self.docker_error,
            "workspaces": [asdict(r) for r in self.rows],
        }


def _yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping read by the worker's bounded loader; {} when it cannot be read."""
    try:
        data = load_yaml(path).data
    except ConfigError:
        return {}
    return data if isinstance(data, dict) else {}


def describe_workspace(ws: Workspace, versions: TemplateVersions) -> FleetRow:
    """The columns that come from files: names, template version, outdated."""
    meta = _yaml(ws.spec_file).get("metadata") or {}
    answers: dict[str, Any] = {}
    note = ""
    try:
        answers = rendering.read_answers(ws.dir)
    except ColtecError as exc:
        note = exc.message
    row = FleetRow(
        ws.key,
        ws.org,
        ws.name,
        project=str(meta.get("project") or answers.get("project") or ""),
        env=str(meta.get("environment") or answers.get("environment") or ""),
        description=str(meta.get("description") or answers.get("description") or ""),
        template_version=str(answers.get("_commit") or ""),
        note=note,
    )
    if row.template_version:
        row.outdated = versions.outdated(
            str(answers.get("_src_path") or ""), row.template_version, answers
        )
    return row


class TemplateVersions:
    """Whether a recorded template commit is behind (git's answers kept for the run)."""

    def __init__(self) -> None:
        from coltec.template.versions import Versions

        self._versions = Versions()  # the one rule cs:update and cs:outdated use
        self._failed: set[tuple[str, str]] = set()

    def outdated(self, src: str, commit: str, answers: dict[str, Any]) -> bool | None:
        if (src, commit) in self._failed:
            return None
        try:  # a remote template: None (`cs:outdated` asks it, slowly; the list does not)
            return self._versions.local_newer(src, commit, answers)
        except ColtecError:
            self._failed.add((src, commit))
            return None


def parse_status(data: Any, now: datetime) -> tuple[bool | None, list[PathSync]]:
    """`coltec-worker status --json` → (daemon running, per-path last sync)."""
    if not isinstance(data, dict):
        return None, []
    paths: list[PathSync] = []
    for p in data.get("paths") or []:
        if not isinstance(p, dict):
            continue
        last_end = p.get("last_end")
        paths.append(
            PathSync(
                str(p.get("name", "")),
                str(p.get("outcome") or "never"),
                last_end,
                age_seconds(last_end, now),
                p.get("error"),
            )
        )
    running = data.get("running")
    return (bool(running) if running is not None else None), paths


def age_seconds(stamp: Any, now: datetime) -> int | None:
    if not isinstance(stamp, str) or not stamp:
        return None
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, int((now - when).total_seconds()))


def worker_status(engine: DockerEngine, container: Container) -> Any:
    result = engine.run(
        ["exec", container.id, "coltec-worker", "status", "--json"],
        timeout=STATUS_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise ColtecError(
            f"coltec-worker status failed (exit {result.returncode}): "
            f"{result.stderr.strip()[-200:]}"
        )
    return json.loads(result.stdout)


def fill_containers(
    rows: Iterable[FleetRow], found: dict[str, Container], workspaces: dict[str, Workspace]
) -> None:
    for row in rows:
        c = found.get(row.workspace)
        if c is None:
            row.container = "none"
            continue
        row.container, row.container_id = c.state, c.id[:12]
        row.drift = drift_of(c.config_hash, workspaces[row.workspace])


def fill_workers(rows: list[FleetRow], status_of: Callable[[str], Any], now: datetime) -> None:
    """Ask each running container's worker, in parallel; a failure becomes the row's note."""
    running = [r for r in rows if r.container == "running" and r.container_id]

    def ask(row: FleetRow) -> None:
        try:
            data = status_of(row.container_id)
            row.worker_running, row.paths = parse_status(data, now)
            if isinstance(data, dict) and data.get("problem"):
                row.note = str(data["problem"])
        except (ColtecError, ValueError) as exc:
            row.note = f"worker status unavailable: {getattr(exc, 'message', exc)}"

    with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
        list(pool.map(ask, running))


def fill_from_state(rows: list[FleetRow], workspaces: dict[str, Workspace], now: datetime) -> None:
    """Last sync per path from the state folder on the host, for rows not asked live.

    The daemon's pid means nothing outside its container, so `worker_running` stays None.
    """
    for row in rows:
        ws = workspaces.get(row.workspace)
        state = ws.state_dir if ws else None
        if row.paths or state is None or not (state / "status").is_dir():
            continue
        _, row.paths = parse_status(collect_status(Layout(state)), now)


def workspace_rows(root: Path | None = None) -> tuple[dict[str, Workspace], list[FleetRow]]:
    """Every workspace under `root` by key, and its row (no container columns yet)."""
    found = all_workspaces(root)
    versions = TemplateVersions()
    return {w.key: w for w in found}, [describe_workspace(w, versions) for w in found]


def list_fleet(
    engine: DockerEngine, root: Path | None = None, now: datetime | None = None
) -> Fleet:
    now = now or datetime.now(UTC)
    workspaces, rows = workspace_rows(root)
    try:
        ping(engine)
        found = by_workspace(containers(engine, nexus_id(root)))
    except ColtecError as exc:
        fill_from_state(rows, workspaces, now)
        return Fleet(rows, docker=False, docker_error=exc.message)
    fill_containers(rows, found, workspaces)
    rows += orphans(found, workspaces)
    by_id = {c.id[:12]: c for c in found.values()}
    fill_workers(rows, lambda cid: worker_status(engine, by_id[cid]), now)
    fill_from_state(rows, workspaces, now)
    return Fleet(rows, docker=True)


def orphans(
    found: Mapping[str, Container],
    workspaces: Mapping[str, Workspace],
    hosts: Mapping[str, str] | None = None,
) -> list[FleetRow]:
    """Rows for containers whose workspace folder is gone (`hosts`: key -> host name)."""
    rows = []
    for key in sorted(set(found) - set(workspaces)):
        org, _, name = key.partition("/")
        c, host = found[key], (hosts or {}).get(key, "")
        row = FleetRow(key, org, name, host=host, container=c.state, container_id=c.id[:12])
        row.note = "container without a workspace folder (cs:down --rm it)"
        rows.append(row)
    return rows
