"""The base image on the tier's hosts, the way a user puts it there: `cs:image`.

inputs_key() names what an image is built from, so a warm run skips the build.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.host.hosts import lab as labmod
from tests.host.hosts.lab import TAG
from tests.support.budget import step

DOCKER_VARS = ("DOCKER_HOST", "DOCKER_BUILDKIT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
BUILT_REPO = "coltec-multihost/base"  # tagged by what the image was built from
IMAGE_TIMEOUT = 1800  # cs:image's own limit, within base_image's budget plus the test's


def inputs_key(rootfs: str) -> str:
    """What the base image is made from: the worker, base-image/, the build code, the rootfs."""
    h = hashlib.sha256(rootfs.encode())
    for folder in ("worker/coltec_worker", "worker/pyproject.toml", "base-image", "schema"):
        root = REPO_ROOT / folder
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            if "__pycache__" not in path.parts:
                h.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    from coltec.runtime import image  # how cs:image builds: a change rebuilds the image

    h.update(Path(image.__file__).read_bytes())
    return h.hexdigest()[:16]


def cs_image(
    rootfs: str, hosts_file: Path, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """`mise run cs:image --base-image ROOTFS --offline ARGS...` with COLTEC_HOSTS=hosts_file,
    as a user runs it (ssh:// and tcp:// hosts reached as the file says)."""
    env = {k: v for k, v in labmod.Host(1).env().items() if k not in DOCKER_VARS}
    env.update(
        {
            "COLTEC_HOSTS": str(hosts_file),
            "MISE_YES": "1",
            "MISE_TRUSTED_CONFIG_PATHS": str(REPO_ROOT),
        }
    )
    argv = ["cs:image", "--base-image", rootfs, "--offline", *args]
    with step(TAG, f"mise run {' '.join(argv)}"):
        proc = subprocess.run(
            [str(REPO_ROOT / "node_modules" / ".bin" / "mise"), "run", *argv],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=IMAGE_TIMEOUT,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    for line in proc.stdout.splitlines():
        labmod.say(f"  {line}")
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"cs:image exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr[-3000:]}"
        )
    return proc
