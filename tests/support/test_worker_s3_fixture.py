from __future__ import annotations

import os
import subprocess

from tests.support.s3 import S3Server


def test_s3_fixture_serves_a_bucket(s3: S3Server, tmp_path) -> None:
    (tmp_path / "a.txt").write_text("hello")
    env = {**os.environ, **s3.env("r2")}
    subprocess.run(
        ["rclone", "copy", str(tmp_path), s3.remote("r2", "x/y")],
        env=env,
        check=True,
        capture_output=True,
    )
    assert (s3.bucket_dir / "x" / "y" / "a.txt").read_text() == "hello"
