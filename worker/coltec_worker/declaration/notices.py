"""What a declaration asks that this worker does not do: one line each, said once.

The predecessor's declaration has sections its own tool acted on and this one does not
(its JuiceFS mounts, secret files, the devcontainer section it rendered devcontainer.json
from, org/project volume references). They are accepted and checked; the compiled plan
carries these lines, and the worker logs each once at start and shows them in `status`
— never a silent drop.
"""

from __future__ import annotations

from coltec_worker.declaration.spec import WorkspaceSpec


def _count(n: int, what: str) -> str:
    return f"{n} {what}" + ("" if n == 1 else "s")


def notices(spec: WorkspaceSpec) -> list[str]:
    pers = spec.persistence
    out: list[str] = []
    if pers.mounts:
        out.append(
            f"persistence.mounts: {_count(len(pers.mounts), 'JuiceFS mount')} (mode: "
            f"{pers.mode}) not mounted — this worker syncs folders (persistence.sync) only"
        )
    if pers.scope != "project" or pers.mounts:
        out.append(f"persistence.scope: {pers.scope} has no effect here (it scoped JuiceFS mounts)")
    msv = pers.multi_scope_volumes
    if msv is not None and (msv.global_refs or msv.project_refs):
        refs = [*msv.global_refs, *msv.project_refs]
        out.append(
            f"multi_scope_volumes: {_count(len(refs), 'global/project volume reference')} "
            f"({', '.join(refs)}) not synced — they named a storage-config.yaml this tool "
            "does not have; declare them as persistence.sync items"
        )
    if msv is not None and any(v.read_only for v in msv.environment):
        out.append(
            "multi_scope_volumes.environment: read_only has no effect on syncing "
            "(use sync: pull-only to never write the remote)"
        )
    if spec.secrets:
        out.append(
            f"secrets: {_count(len(spec.secrets), 'secret')} not materialized — cs:up "
            "delivers secrets as a file (COLTEC_SECRETS_FILE); see the README"
        )
    if spec.mounts or spec.devcontainer is not None:
        out.append(
            "devcontainer/mounts: checked, not applied — the workspace's devcontainer.json "
            "(the template's) defines the container"
        )
    return out
