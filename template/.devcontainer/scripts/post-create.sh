#!/usr/bin/env bash
# postCreateCommand: runs once, when the container is created, from /workspace.
# Inputs come from the environment (containerEnv in devcontainer.json) — never from
# text pasted in by the template — so no answer can ever run as a command here.
# A failed dependency install is reported but does not fail container creation:
# the workspace must still come up so the user can fix it from inside.
set -euo pipefail

log() { printf 'post-create: %s\n' "$*" >&2; }

try() {
    log "running: $*"
    if ! "$@"; then
        log "warning: '$*' failed (continuing; run it again by hand)"
    fi
}

cd "${WORKSPACE_FOLDER:-/workspace}"

project_type="${COLTEC_PROJECT_TYPE:-generic}"
case "$project_type" in
    python)
        if [ -f pyproject.toml ] || [ -f setup.py ]; then
            try python3 -m pip install --user --editable .
        elif [ -f requirements.txt ]; then
            try python3 -m pip install --user --requirement requirements.txt
        fi
        ;;
    node)
        if [ -f package-lock.json ]; then
            try npm ci
        elif [ -f package.json ]; then
            try npm install
        fi
        ;;
    rust)
        if [ -f Cargo.toml ]; then
            try cargo fetch
        fi
        ;;
    go)
        if [ -f go.mod ]; then
            try go mod download
        fi
        ;;
    java)
        if [ -x ./mvnw ]; then
            try ./mvnw --batch-mode --quiet dependency:go-offline
        elif [ -f pom.xml ]; then
            try mvn --batch-mode --quiet dependency:go-offline
        elif [ -x ./gradlew ]; then
            try ./gradlew --quiet dependencies
        fi
        ;;
    generic)
        ;;
    *)
        log "unknown COLTEC_PROJECT_TYPE '$project_type': no dependency step"
        ;;
esac

try "${COLTEC_WORKER_PYTHON:-/opt/coltec/bin/python3}" -m coltec_worker.usersetup --workspace "$PWD"  # org tools/env, dotfiles

log "done ($project_type)"
