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
