"""The fleet benchmark's driver, small: real workers, real S3, nothing lost.

Not a timed test: it asserts only that after a final flush every file the driver
created, edited or deleted has the same content (or absence) on both sides.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fleet import Variant, run_variant


@pytest.mark.slow
def test_two_workers_lose_no_edit(tmp_path: Path) -> None:
    outcome = run_variant(Variant(workers=2, jitter=False, duration=10.0), tmp_path)

    assert sum(outcome.ops.values()) >= 5, outcome.ops
    assert outcome.files_compared > 0
    assert outcome.flush_failures == 0, outcome.errors
    assert outcome.lost == []
    assert outcome.undone == []
    assert outcome.failed_runs == 0, outcome.errors


@pytest.mark.slow
def test_nexus_bench_runs_on_a_small_nexus(tmp_path: Path) -> None:
    """bench/nexus.py end to end on 3 workspaces: it renders its nexus from this
    checkout's committed template (which once lacked schema/ and failed at the first
    render), and both sides of every row reach the same result."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "bench/nexus.py", "--workspaces", "3", "--update", "2", "--repeat", "1",
         "--no-write"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-2000:]
    assert "same files as the loop" in out.stdout, out.stdout
    assert "errors" not in out.stdout, out.stdout
