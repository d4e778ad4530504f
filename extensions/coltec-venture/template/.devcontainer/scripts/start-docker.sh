#!/usr/bin/env bash
# postStartCommand step of the coltec-venture extension: start the Docker engine inside
# the container (Docker in Docker; the container runs --privileged, see the org policy
# exception). The base-dind-net image lets the container user run only `dockerd`
# through sudo. Detached with setsid and all streams redirected, like the sync worker,
# so it outlives this hook; returns once `docker info` answers (at most 30 s).
set -euo pipefail

log() { printf 'start-docker: %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then
    log "the Docker engine is already running"
    exit 0
fi
dockerd=$(command -v dockerd || true)
if [[ -z $dockerd ]]; then
    log "dockerd is not installed: build the image with 'mise run cs:image --sku base-dind-net'"
    exit 1
fi
as_root=()
[[ $(id -u) -eq 0 ]] || as_root=(sudo -n)
logfile=/tmp/dockerd.log
setsid "${as_root[@]}" "$dockerd" </dev/null >>"$logfile" 2>&1 &
for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        log "the Docker engine is running (log: $logfile)"
        exit 0
    fi
    sleep 0.5
done
log "the Docker engine did not answer within 30 s; last lines of $logfile:"
tail -n 5 "$logfile" >&2 || true
exit 1
