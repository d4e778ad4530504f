#!/usr/bin/env bash
# postCreateCommand step of the coltec-opencode extension: the workspace layout
# (codebase/, agent-context/, scratch/, codebase/.sessions/ for session worktrees),
# git's safe.directory for the bind-mounted folders, and the tools of mise.toml.
# A failed tool install is reported, not fatal: the container must come up.
set -euo pipefail

log() { printf 'opencode-setup: %s\n' "$*" >&2; }

cd "${WORKSPACE_FOLDER:-/workspace}"
mkdir -p codebase/.sessions agent-context scratch
# The volume at ~/.local is created by the engine as root.
if [[ -d $HOME/.local && ! -w $HOME/.local ]] && sudo -n true 2>/dev/null; then
    sudo -n chown "$(id -u):$(id -g)" "$HOME/.local"
fi
git config --global --add safe.directory "$PWD"
git config --global --add safe.directory "$PWD/codebase"
if command -v mise >/dev/null 2>&1; then
    log "installing the tools of mise.toml"
    mise trust --yes mise.toml && mise install || log "warning: 'mise install' failed (run it again by hand)"
else
    log "mise is not installed: the tools of mise.toml are not installed"
fi
