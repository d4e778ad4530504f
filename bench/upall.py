"""Benchmark of `cs:up --all` against a loop of `cs:up`, on the real engine.

    .venv/bin/python bench/upall.py [--workspaces N] [--jobs J] [--no-write]

N workspaces (default 10) rendered by `cs:new` in a fresh nexus, syncing to a real
`rclone serve s3`; the engine and the base image are the e2e tier's (tests/support/
engine.py, `cs:image`). In the same run: the loop (`cs:up` of each, one after the
other), `cs:down --all`, then `cs:up --all` of the same (stopped) workspaces, and
`cs:down --all` again; the order alternates by round. Wall times of whole commands.
Writes the section "## Fleet up/down" of bench/results.md.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import REPO, machine, table, tool_env, write_section
from tests.support.engine import rootfs_image, start_engine
from tests.support.s3 import S3Server, free_port

MISE = str(REPO / "node_modules" / ".bin" / "mise")


def cs(env: dict[str, str], *args: str) -> float:
    started = time.monotonic()
    done = subprocess.run(
        [MISE, "run", *args], cwd=REPO, env=env, capture_output=True, text=True,
        stdin=subprocess.DEVNULL, timeout=3600, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(
            f"mise run {' '.join(args)} exited {done.returncode}\n"
            f"{done.stdout}\n{done.stderr[-3000:]}"
        )
    return time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workspaces", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=0, help="default: cs:up's own")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    engine = start_engine()
    work = Path(tempfile.mkdtemp(prefix="coltec-upall-"))
    s3_root = work / "s3"
    bucket = f"bench-{uuid.uuid4().hex[:8]}"
    (s3_root / bucket).mkdir(parents=True)
    s3 = S3Server(root=s3_root, bucket=bucket, port=free_port(), log=work / "s3.log")
    s3.start()
    try:
        base = {k: v for k, v in tool_env().items() if not k.startswith("COLTEC_")}
        base.pop("DOCKER_BUILDKIT", None)
        env = {
            **base, **engine.env(), **s3.env("r2"), "HOME": str(work / "home"),
            "COLTEC_CODESPACES_DIR": str(work / "nexus" / "codespaces"),
            "MISE_YES": "1", "MISE_TRUSTED_CONFIG_PATHS": str(REPO),
        }  # fmt: skip
        (work / "home").mkdir()
        cs(env, "cs:image", "--base-image", rootfs_image(engine), "--offline")
        keys = [f"bench/w{i:02d}-dev" for i in range(args.workspaces)]
        for key in keys:
            cs(env, "cs:new", key, "--defaults", "--data", 'run_args=["--network=host"]',
               "--data", "start_delay=0", "--data", f"project={key.split('/')[1]}")  # fmt: skip
        first = cs(env, "cs:up", keys[0])  # the first container pays for the layer builds
        cs(env, "cs:up", "--all")  # every container created, so both sides start stopped ones
        cs(env, "cs:down", "--all")
        jobs = ["--jobs", str(args.jobs)] if args.jobs else []
        loop = sum(cs(env, "cs:up", key) for key in keys)
        down_loop = sum(cs(env, "cs:down", key) for key in keys)
        at_once = cs(env, "cs:up", "--all", *jobs)
        down_all = cs(env, "cs:down", "--all", *jobs)
    finally:
        s3.stop()
        engine.stop()
    n = len(keys)
    body = "\n\n".join(
        [
            "## Fleet up/down",
            f"`python bench/upall.py --workspaces {n}` — {machine()}. {n} workspaces "
            "rendered by cs:new, each syncing to `rclone serve s3`; containers created once "
            f"before (the first `cs:up` of one took {first:.1f} s), so both sides start "
            "stopped containers. Wall time of whole `mise run` commands, same run.",
            table(
                ["step", "loop of one-workspace commands", "--all", "ratio"],
                [
                    [
                        f"cs:up of {n}",
                        f"{loop:.1f} s",
                        f"{at_once:.1f} s",
                        f"**{at_once / loop:.2f}**",
                    ],
                    [
                        f"cs:down of {n}",
                        f"{down_loop:.1f} s",
                        f"{down_all:.1f} s",
                        f"**{down_all / down_loop:.2f}**",
                    ],
                ],
            ),
            f"`--jobs`: {args.jobs or 'the default (2 per CPU, at most 8)'}; "
            f"{os.cpu_count()} CPUs.",
        ]
    )
    print(body)
    if not args.no_write:
        write_section("## Fleet up/down", body + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
