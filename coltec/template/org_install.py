"""The org install file: the org's tools and env, for post-create (.devcontainer/coltec-org.json).

Written by cs:new and rewritten by every cs:up from policy/ as it is then.
"""

from __future__ import annotations

import json
from pathlib import Path

from coltec.checks.policy import load_policy
from coltec.workspaces import Workspace


def org_install_file(ws: Workspace) -> Path:
    return ws.dir / ".devcontainer" / "coltec-org.json"


def write_org_install(ws: Workspace, org: str | None = None) -> Path:
    """Write the org's tools and env for post-create (.devcontainer/coltec-org.json)."""
    policy = load_policy(org or ws.org)
    data = {
        "org": policy.org,
        "policy_files": policy.files,
        "tools": policy.tools(),
        "env": {k: s.value for k, s in policy.env().items()},
    }
    path = org_install_file(ws)
    text = json.dumps(data, indent=2) + "\n"
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
    return path
