"""Regenerate data/rendered/: the predecessor's workspace-spec templates, rendered.

Not run by the tests (they read the rendered files): it needs a clone of the predecessor,
PSU3D0/coltec-codespaces, and renders `workspace-spec.yaml.jinja` of each template at each
commit that changed it, with the answers its copier.yaml asks for, the way copier would
(jinja2 with the ansible filters copier enables; `strftime` for generated_at):

    python tests/predecessor/render_templates.py /path/to/coltec-codespaces.git
"""

from __future__ import annotations

import itertools
import subprocess
import sys
from pathlib import Path

import jinja2

HERE = Path(__file__).resolve().parent / "data" / "rendered"
SPEC = "template/.devcontainer/workspace-spec.yaml.jinja"
TEMPLATES = {
    "template": SPEC,
    "coltec-venture": f"extensions/coltec-venture/{SPEC}",
    "coltec-opencode": f"extensions/coltec-opencode/{SPEC}",
}
PROJECT_TYPES = ("python", "node", "rust", "monorepo", "other")
IMAGE = "ghcr.io/psu3d0/coltec-codespace:1.0-base-dind-net"
STAMP = "2025-12-01T10:00:00Z"  # a fixed generated_at, so a rerun changes nothing


def git(repo: str, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", repo, *args], capture_output=True, text=True, check=True
    ).stdout


def main(repo: str) -> None:
    env = jinja2.Environment(
        extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
        keep_trailing_newline=True,
    )
    env.filters["strftime"] = lambda _fmt: STAMP
    HERE.mkdir(parents=True, exist_ok=True)
    seen: set[str] = set()
    for name, path in TEMPLATES.items():
        for commit in git(repo, "log", "--all", "--format=%h", "--", path).split():
            try:
                text = git(repo, "show", f"{commit}:{path}")
            except subprocess.CalledProcessError:
                continue  # the commit deleted it
            template = env.from_string(text)
            for project_type, persistence in itertools.product(PROJECT_TYPES, (True, False)):
                out = template.render(
                    org="acme",
                    project="api",
                    env="api-dev",
                    project_type=project_type,
                    image=IMAGE,
                    persistence_enabled=persistence,
                )
                if out in seen:
                    continue  # the answer changes nothing in this version
                seen.add(out)
                mode = "persist" if persistence else "no-persist"
                file = HERE / f"{name}@{commit}-{project_type}-{mode}.yaml"
                file.write_text(out, encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1])
