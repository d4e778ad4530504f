"""What a predecessor declaration asks that this worker does not do is said once — a log
line at start (and on a reload that changes it) and a line in `status` — never dropped
silently."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from coltec_worker.log import Logger
from coltec_worker.sync.loop import Options, Worker
from coltec_worker.sync.state import Layout
from coltec_worker.sync.status import collect, render_text

from tests.predecessor.verdict import DATA, ENV, plan_of

DEVCONTAINER = DATA / "files" / "dc5f23f" / ".devcontainer" / "workspace-spec.yaml"
MOUNTED = """\
name: formualizer-dev
version: 1.0.0
metadata: {org: coltec, project: formualizer}
devcontainer: {image: {name: "ghcr.io/psu3d0/coltec-codespace:1.0-base-dind-net"}}
secrets: [{provider: vault, key: tailscale/authkey, mount_path: /run/secrets/ts}]
persistence:
  enabled: true
  scope: environment
  mounts:
    - {name: agent-context, target: /workspace/agent-context, source: agent-context}
  multi_scope_volumes:
    global_refs: [org-creds]
    environment:
      - {name: scratch, remote_path: s, mount_path: /workspace/scratch, read_only: true}
  rclone_config: {remote_name: r2coltec}
"""


def test_each_section_not_acted_upon_has_its_notice(tmp_path: Path) -> None:
    notices = plan_of(MOUNTED, tmp_path).notices
    text = "\n".join(notices)
    for fragment in (
        "persistence.mounts: 1 JuiceFS mount",
        "persistence.scope: environment",
        "(org-creds) not synced",
        "read_only has no effect",
        "secrets: 1 secret not materialized",
        "devcontainer/mounts: checked, not applied",
    ):
        assert fragment in text, text
    assert len(notices) == 6
    ours = "name: ws\nmetadata: {org: a, project: b}\npersistence: {enabled: false}\n"
    (tmp_path / "ours").mkdir()
    assert plan_of(ours, tmp_path / "ours").notices == ()


def test_the_worker_says_them_once_and_status_shows_them(tmp_path: Path) -> None:
    config = tmp_path / "ws" / ".devcontainer" / "workspace-spec.yaml"
    config.parent.mkdir(parents=True)
    shutil.copy(DEVCONTAINER, config)
    log = tmp_path / "log"
    layout = Layout(tmp_path / "state")
    worker = Worker(
        config,
        layout,
        Logger(open(log, "a")),  # noqa: SIM115
        env={**ENV, "PATH": os.environ["PATH"]},  # the worker finds rclone on it
        home=tmp_path / "home",
        options=Options(start_delay=30),
    )
    worker.configure()
    worker.configure()  # a reload with the same declaration says nothing again
    worker.logger.stream.flush()
    events = [json.loads(line) for line in log.read_text().splitlines()]
    told = [e for e in events if e.get("event") == "not_acted_upon"]
    assert len(told) == 1 and "devcontainer" in told[0]["notice"], events
    status = collect(layout)
    assert status["notices"] == [told[0]["notice"]]
    assert "not acted upon: devcontainer/mounts" in render_text(status)
