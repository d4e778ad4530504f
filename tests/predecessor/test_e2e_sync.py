"""The predecessor's end-to-end sync scenarios, replayed against our worker.

Source: PSU3D0/coltec-codespaces, coltec-daemon/tests/e2e_sync.rs (at d7d393d): push-only
(creates remote files; does not pull), pull-only (downloads; does not push),
bidirectional (both ways, first run a resync; a second run is none), several targets,
excludes, dry-run changes nothing, missing rclone gives a clear error, priority order
(lower runs first). Our own test code: the real `coltec-worker --once` (as its tests ran
`coltec-daemon --once`) and rclone against a real S3 endpoint.

The declaration is the predecessor's `make_config` with one change: its remote was
`type: local` with absolute remote paths, which our rules refuse (a remote path is a
prefix inside a bucket). Here `testremote` is an s3 remote of the same shape, its
endpoint and credentials `${VAR}`s (as a committed spec has them), and the remote paths
are relative; the assertions are the predecessor's, on the bucket's files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from coltec_worker.declaration import secretfile

from tests.support.s3 import S3Server
from tests.worker.helpers import read_tree, write_tree

CONFIG = """\
name: e2e-test-workspace
metadata:
  org: testorg
  project: testproject
  environment: test
devcontainer:
  template:
    name: test
    path: test.json
  image:
    name: ghcr.io/test/image
persistence:
  enabled: true
  mode: replicated
  default_remote: testremote
  remotes:
    testremote:
      type: s3
      bucket: {bucket}
      options:
        provider: Rclone
        endpoint: ${{E2E_S3_ENDPOINT}}
        access_key_id: ${{E2E_S3_KEY}}
        secret_access_key: ${{E2E_S3_SECRET}}
  sync:
{sync_entries}"""


def sync_entry(
    name: str,
    local: Path,
    remote_path: str,
    direction: str,
    excludes: tuple[str, ...] = (),
    priority: int = 1,
) -> str:
    entry = (
        f"    - name: {name}\n"
        f"      path: {local}\n"
        f"      remote_path: {remote_path}\n"
        f"      direction: {direction}\n"
        f"      interval: 60\n"
        f"      priority: {priority}\n"
    )
    if excludes:
        entry += "      exclude:\n" + "".join(f'        - "{e}"\n' for e in excludes)
    return entry


class Case:
    """One scenario's folders: local dirs under tmp, the bucket as the remote."""

    def __init__(self, tmp_path: Path, s3: S3Server) -> None:
        self.tmp, self.s3 = tmp_path, s3
        self.config = tmp_path / "ws" / ".devcontainer" / "workspace-spec.yaml"
        self.config.parent.mkdir(parents=True)
        delivered = {
            "E2E_S3_ENDPOINT": s3.endpoint,
            "E2E_S3_KEY": s3.access_key,
            "E2E_S3_SECRET": s3.secret_key,
        }
        secrets = tmp_path / "run" / secretfile.FILE_NAME
        secrets.parent.mkdir()
        secrets.write_text(secretfile.dumps(delivered))
        base = {k: v for k, v in os.environ.items() if not k.startswith("RCLONE_")}
        self.env = {
            **base,
            "HOME": str(tmp_path / "home"),
            "COLTEC_USER_CONFIG": "",
            secretfile.ENV_VAR: str(secrets),
        }

    def local(self, name: str) -> Path:
        path = self.tmp / "local" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def remote(self, rel: str) -> Path:
        return self.s3.bucket_dir / rel

    def write(self, *entries: str) -> None:
        self.config.write_text(CONFIG.format(bucket=self.s3.bucket, sync_entries="".join(entries)))

    def run(
        self, *flags: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        worker = shutil.which("coltec-worker")  # by path: one test runs it with PATH=""
        assert worker is not None
        return subprocess.run(
            [worker, "--config", str(self.config), "--once", *flags],
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def events(self, stderr: str, event: str) -> list[dict[str, object]]:
        out = []
        for line in stderr.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("event") == event:
                out.append(record)
        return out

    def seed_remote(self, rel: str, files: dict[str, str]) -> None:
        """Files put in the bucket as another client would (through the endpoint)."""
        src = self.tmp / "seed" / rel
        write_tree(src, files)
        env = {**os.environ, **self.s3.env("seed"), "RCLONE_CONFIG": "/dev/null"}
        done = subprocess.run(
            ["rclone", "copy", str(src), self.s3.remote("seed", rel)],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr


def test_push_only_creates_remote_files(tmp_path: Path, s3: S3Server) -> None:
    case = Case(tmp_path, s3)
    local = case.local("data")
    write_tree(local, {"file1.txt": "hello from local", "subdir/file2.txt": "nested file"})
    case.write(sync_entry("data", local, "remote/data", "push-only"))
    done = case.run()
    assert done.returncode == 0, done.stderr
    assert read_tree(case.remote("remote/data")) == {
        "file1.txt": "hello from local",
        "subdir/file2.txt": "nested file",
    }


def test_push_only_does_not_pull_remote_files(tmp_path: Path, s3: S3Server) -> None:
    case = Case(tmp_path, s3)
    local = case.local("data")
    write_tree(local, {"local-only.txt": "from local"})
    case.seed_remote("remote/data", {"remote-only.txt": "from remote"})
    case.write(sync_entry("data", local, "remote/data", "push-only"))
    done = case.run()
    assert done.returncode == 0, done.stderr
    assert (case.remote("remote/data") / "local-only.txt").read_text() == "from local"
    assert not (local / "remote-only.txt").exists(), "push-only should not pull remote files"


def test_pull_only_downloads_remote_files(tmp_path: Path, s3: S3Server) -> None:
    case = Case(tmp_path, s3)
    local = case.local("data")
    case.seed_remote("remote/data", {"remote-file.txt": "from remote"})
    case.write(sync_entry("data", local, "remote/data", "pull-only"))
    done = case.run()
    assert done.returncode == 0, done.stderr
    assert read_tree(local) == {"remote-file.txt": "from remote"}


def test_pull_only_does_not_push_local_files(tmp_path: Path, s3: S3Server) -> None:
    case = Case(tmp_path, s3)
    local = case.local("data")
    write_tree(local, {"local-only.txt": "from local"})
    case.seed_remote("remote/data", {"already-there.txt": "remote"})
    case.write(sync_entry("data", local, "remote/data", "pull-only"))
    done = case.run()
    assert done.returncode == 0, done.stderr
    assert not (case.remote("remote/data") / "local-only.txt").exists()
    assert read_tree(case.remote("remote/data")) == {"already-there.txt": "remote"}


def test_bidirectional_syncs_both_ways(tmp_path: Path, s3: S3Server) -> None:
    case = Case(tmp_path, s3)
    local = case.local("data")
    write_tree(local, {"local-file.txt": "from local"})
    case.seed_remote("remote/data", {"remote-file.txt": "from remote"})
    case.write(sync_entry("data", local, "remote/data", "bidirectional"))
    done = case.run()
    assert done.returncode == 0, done.stderr
    assert case.events(done.stderr, "first_run_resync"), "first bisync should use --resync"
    both = {"local-file.txt": "from local", "remote-file.txt": "from remote"}
    assert read_tree(local) == both
    assert read_tree(case.remote("remote/data")) == both


def test_bidirectional_second_run_no_resync(tmp_path: Path, s3: S3Server) -> None:
    case = Case(tmp_path, s3)
    local = case.local("data")
    write_tree(local, {"file.txt": "content"})
    case.seed_remote("remote/data", {"file.txt": "content"})
    case.write(sync_entry("data", local, "remote/data", "bidirectional"))
    first = case.run()
    assert first.returncode == 0, first.stderr
    assert case.events(first.stderr, "first_run_resync")
    second = case.run()
    assert second.returncode == 0, second.stderr
    assert not case.events(second.stderr, "first_run_resync"), "second bisync should not resync"
    starts = case.events(second.stderr, "run_start")
    assert starts and all("--resync" not in s["argv"] for s in starts)  # type: ignore[operator]


def test_multiple_sync_targets(tmp_path: Path, s3: S3Server) -> None:
    case = Case(tmp_path, s3)
    code, config = case.local("code"), case.local("config")
    write_tree(code, {"main.rs": "fn main() {}"})
    write_tree(config, {"settings.json": "{}"})
    case.write(
        sync_entry("code", code, "remote/code", "push-only"),
        sync_entry("config", config, "remote/config", "push-only"),
    )
    done = case.run()
    assert done.returncode == 0, done.stderr
    assert read_tree(case.remote("remote/code")) == {"main.rs": "fn main() {}"}
    assert read_tree(case.remote("remote/config")) == {"settings.json": "{}"}


def test_exclude_patterns(tmp_path: Path, s3: S3Server) -> None:
    case = Case(tmp_path, s3)
    local = case.local("code")
    write_tree(
        local,
        {
            "main.rs": "fn main() {}",
            ".git/config": "git config",
            "node_modules/lodash/index.js": "module.exports = {}",
            "data.tmp": "temporary",
        },
    )
    excludes = (".git/**", "node_modules/**", "*.tmp")
    case.write(sync_entry("code", local, "remote/code", "push-only", excludes))
    done = case.run()
    assert done.returncode == 0, done.stderr
    assert read_tree(case.remote("remote/code")) == {"main.rs": "fn main() {}"}


def test_dry_run_does_not_modify_files(tmp_path: Path, s3: S3Server) -> None:
    case = Case(tmp_path, s3)
    local = case.local("data")
    write_tree(local, {"file.txt": "content"})
    case.seed_remote("remote/other", {"untouched.txt": "as it was"})
    case.write(
        sync_entry("data", local, "remote/data", "push-only"),
        sync_entry("other", case.local("other"), "remote/other", "pull-only"),
    )
    before = read_tree(s3.bucket_dir)
    done = case.run("--dry-run")
    assert done.returncode == 0, done.stderr
    assert not case.remote("remote/data").exists(), "dry-run should not create remote files"
    assert read_tree(s3.bucket_dir) == before
    assert read_tree(case.local("other")) == {}  # nor pull anything
    assert read_tree(local) == {"file.txt": "content"}


def test_missing_rclone_gives_clear_error(tmp_path: Path, s3: S3Server) -> None:
    case = Case(tmp_path, s3)
    local = case.local("data")
    write_tree(local, {"file.txt": "content"})
    case.write(sync_entry("data", local, "nonexistent/data", "push-only"))
    done = case.run(env={**case.env, "PATH": ""})
    assert done.returncode == 1
    assert "rclone not found" in done.stderr
    assert "Traceback" not in done.stderr
    assert not case.remote("nonexistent").exists()


def test_sync_order_respects_priority(tmp_path: Path, s3: S3Server) -> None:
    """Declared low (5) first, high (1) second: the predecessor ran priority 1 first."""
    case = Case(tmp_path, s3)
    high, low = case.local("high"), case.local("low")
    write_tree(high, {"high.txt": "high priority"})
    write_tree(low, {"low.txt": "low priority"})
    case.write(
        sync_entry("low-priority", low, "remote/low", "push-only", priority=5),
        sync_entry("high-priority", high, "remote/high", "push-only", priority=1),
    )
    done = case.run()
    assert done.returncode == 0, done.stderr
    order = [s["path"] for s in case.events(done.stderr, "run_start")]
    assert order == ["high-priority", "low-priority"], "priority 1 should sync before 5"
    assert read_tree(case.remote("remote/high")) == {"high.txt": "high priority"}
    assert read_tree(case.remote("remote/low")) == {"low.txt": "low priority"}
