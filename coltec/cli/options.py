"""Every task argument's help (`TASK --help`, mise's `usage`), by name or `task.name`, and
the one short flag each letter means across all tasks (SHORT)."""

from __future__ import annotations

HELP = {
    "workspace": "ORG/NAME of the workspace",
    "docker_host": "Docker engine to use (default: $DOCKER_HOST, else the local socket)",
    "json_": "print JSON instead of text",
    "data": "answer KEY=VALUE, repeatable (e.g. project_type=python, run_args=--network=host)",
    "user_config": "user.yaml to merge (default $COLTEC_USER_CONFIG or ~/.config/coltec)",
    "target": "workspace (org/name), directory or spec file; repeatable; none = all",
    "explain": "[TARGET]: show each effective value and the layer that set it",
    "user.user_config": "user.yaml to show (default: as validate)",
    "tag": "devcontainer tag to look for (default tag:devcontainer)",
    "pytest_args": "extra arguments for pytest, e.g. '-k worker -x'",
    "lint": "run ruff and mypy first (default: yes)",
    "template_": "render from the template extension extensions/NAME/ (e.g. coltec-venture)",
    "defaults": "use the default for every unanswered question (no prompts)",
    "all_": "update every workspace under codespaces/ (progress bar, summary table)",
    "outdated.workspace": "ORG/NAME or a folder path (several allowed); none = every workspace",
    "up.workspace": "ORG/NAME, or ORG/ for every workspace of an org (several allowed)",
    "list.workspace": "ORG or ORG/NAME: list only those (several allowed; default: all)",
    "down.workspace": "ORG/NAME, or ORG/ for every workspace of an org (several allowed)",
    "up.all_": "start every workspace under codespaces/, --jobs at a time; a summary",
    "down.all_": "flush every worker, then stop each container whose final sync succeeded",
    "jobs": "how many workspaces at a time with --all or ORG/ (default: 2 per CPU, at most 8)",
    "dry_run": "say what would change and what would conflict; change nothing",
    "no_edits": "skip the hand-edit check (no render per workspace; faster)",
    "path": "workspace folder (or ORG/NAME) with .devcontainer/",
    "apply": "write the answers file and the render (never over a setting of yours)",
    "adopt.data": "answer KEY=VALUE instead of inferring it (e.g. org=acme, project_type=go)",
    "rm": "also remove the container (its /workspace is on the host and stays)",
    "force": "stop even when the final sync fails (the last edits may not be in S3)",
    "timeout": "seconds to wait for the final sync (default 300)",
    "command": "the command: from the first word after ORG/NAME that is not an option "
    "of cs:exec (default: a login shell)",
    "follow": "keep printing new lines",
    "lines": "how many last lines (default 200)",
    "image.tag": "image tag (default: base-image/IMAGE, the template's base_image default)",
    "base_image": "image to build on; needs Debian/Ubuntu or python3 with venv "
    "(default mcr.microsoft.com/devcontainers/base:ubuntu)",
    "offline": "make a wheelhouse here first, so the build needs no network "
    "(also skips tailscale and mise)",
    "no_tailscale": "do not install tailscale",
    "no_mise": "do not install mise",
    "sku": "build an image SKU: base, base-net (+Tailscale), base-dind (+Docker in Docker), "
    "base-dind-net (both; tagged e.g. coltec/base-dind-net:latest)",
    "image.host": "a host of the hosts file to put the image on (repeatable); "
    "built on the first, sent to the others",
    "all_hosts": "put the image on every host of the hosts file (built on the first)",
    "host": "with a hosts file: the host for a workspace that has no container yet",
    "hosts.timeout": "seconds to wait for each host (default 8); hosts are asked in parallel",
    "to": "the host to move it to (a name from the hosts file)",
    "move.force": "move even when the final sync on the source fails",
    "purge": "also remove the source's volume (remote hosts; default: kept)",
    "move.timeout": "seconds for each sync (default 300)",
    "move.json_": "print the steps as JSON at the end",
    "demo.workspace": "ORG/NAME of the sample workspace (default demo/sample-dev)",
    "quick": "smoke run: shorter and smaller variants (minutes instead of ~45)",
    "only": "run only this benchmark: validate, worker, fleet, nexus or upall (repeatable)",
}


# One meaning per letter in every task; every other option is long only. -h is help and
# -V the version, everywhere (never a task's own option).
SHORT = {
    "json_": "j",
    "all_": "a",
    "dry_run": "n",
    "docker_host": "d",
    "follow": "f",
    "quick": "q",
    "user_config": "u",
    "target": "t",  # invoke validate -t A -t B
}
RESERVED = {"h": "help", "V": "version"}
VERSION_HELP = "print the version and exit"


def help_for(task: str, arguments: list[str]) -> dict[str, str]:
    """{argument: help} for one task; a `task.argument` entry wins over `argument`."""
    return {a: HELP.get(f"{task}.{a}") or HELP[a] for a in arguments}
