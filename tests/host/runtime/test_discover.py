"""cs:discover against the stand-in replaying host `tailscale status --json` captures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from coltec.errors import TailscaleUnavailable, ToolMissing
from coltec.runtime.discovery import discover
from coltec.workspaces import REPO_ROOT
from tests.support.tsstandin import Standin


def add_workspace(root: Path, org: str, name: str, prefix: str = "dev-") -> None:
    d = root / org / name / ".devcontainer"
    d.mkdir(parents=True)
    (d / "workspace-spec.yaml").write_text(
        f"name: {name}\nmetadata: {{org: {org}, project: {name}}}\n"
        f'networking: {{enabled: true, hostname_prefix: {prefix}, tags: ["tag:devcontainer"]}}\n'
    )


def test_lists_tagged_peers_with_their_local_workspace(standin: Standin) -> None:
    add_workspace(Path(os.environ["COLTEC_CODESPACES_DIR"]), "acme", "api")
    standin.world(daemon=True, capture="host-running.json")

    peers = discover()

    assert [(p.hostname, p.workspace, p.online) for p in peers] == [
        ("dev-api", "acme/api", True),
        ("dev-billing-staging", "", False),
    ]
    api, billing = peers
    assert api.ips == ["100.88.14.3", "fd7a:115c:a1e0::9e01:e03"]
    assert api.dns_name == "dev-api.tail4c1d2.ts.net" and api.os == "linux"
    assert api.last_seen is None  # online: Go's zero time means "now"
    assert billing.last_seen == "2024-10-13T17:55:00Z"
    assert standin.calls("tailscale") == [["status", "--json"]]


def test_other_tags_select_other_peers(standin: Standin) -> None:
    standin.world(daemon=True, capture="host-running.json")
    assert [p.hostname for p in discover(["tag:ci"])] == ["ci-runner-1"]


@pytest.mark.parametrize(
    ("world", "message", "hint"),
    [
        ({"daemon": False}, "tailscaled is not running", "systemctl start tailscaled"),
        ({"daemon": True, "capture": "host-needs-login.json"}, "not logged in", "tailscale up"),
        ({"daemon": True, "capture": "host-stopped.json"}, "stopped", "tailscale up"),
    ],
)
def test_clear_errors(standin: Standin, world: dict[str, object], message: str, hint: str) -> None:
    standin.world(**world)
    with pytest.raises(TailscaleUnavailable) as caught:
        discover()
    assert message in caught.value.message and hint in caught.value.hint


def test_tailscale_not_installed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ToolMissing, match="is not installed") as caught:
        discover(tailscale="tailscale-not-here")
    assert "https://tailscale.com/download" in caught.value.hint


def test_cli_json_and_exit_codes(standin: Standin) -> None:
    invoke = Path(sys.executable).parent / "invoke"
    standin.world(daemon=True, capture="host-running.json")
    out = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tasks.py"), "discover", "--json"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert [p["hostname"] for p in json.loads(out.stdout)] == ["dev-api", "dev-billing-staging"]
    standin.world(capture="host-needs-login.json")
    out = subprocess.run(
        [str(invoke), "discover"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert out.returncode == 1
    assert "not logged in" in out.stderr and "hint:" in out.stderr


def test_captures_parse_and_match_the_documented_shape(
    capture: Callable[[str], dict[str, Any]],
) -> None:
    for name in (
        "host-running.json",
        "host-needs-login.json",
        "host-stopped.json",
        "container-needs-login.json",
        "container-running.json",
    ):
        data = capture(name)
        assert {"Version", "BackendState", "Self", "Peer", "TailscaleIPs"} <= set(data)
        assert data["Version"].startswith("1.76.1")
