"""Sync scenarios against a real S3 endpoint, one engine, one table row per scenario.

Each row: the trees before the first run (local and remote), the changes made on each
side after it, and the expected outcome — the files on BOTH sides (contents compared),
the contents that must be recoverable from a backup folder, and for conflicts the set of
versions each side must hold. A baseline of untouched files keeps bisync's safety checks
(all files changed / more than half deleted) out of the way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.s3 import S3Server
from tests.worker.helpers import (
    BASELINE,
    Remote,
    local_backups,
    make_spec,
    once,
    read_tree,
    write_tree,
)

Files = dict[str, str | None]


@dataclass
class Scenario:
    name: str
    direction: str = "bidirectional"
    local_before: Files = field(default_factory=dict)
    remote_before: Files = field(default_factory=dict)
    local_change: Files = field(default_factory=dict)
    remote_change: Files = field(default_factory=dict)
    remote_newer: bool = False  # the remote change is the newer one
    expect_local: Files = field(default_factory=dict)  # None: must be absent
    expect_remote: Files | None = None  # default: the same as local
    backed_up: set[str] = field(default_factory=set)  # contents found in some backup
    versions: dict[str, set[str]] = field(default_factory=dict)  # stem -> contents, each side


SCENARIOS = [
    Scenario("first run copies local up", local_before={"a.txt": "A"}, expect_local={"a.txt": "A"}),
    Scenario(
        "first run merges both sides, newer wins, older backed up",
        local_before={"a.txt": "local A", "l.txt": "L"},
        remote_before={"a.txt": "remote A newer", "r.txt": "R"},
        remote_newer=True,
        expect_local={"a.txt": "remote A newer", "l.txt": "L", "r.txt": "R"},
        backed_up={"local A"},
    ),
    Scenario("local create", local_change={"new/n.txt": "N"}, expect_local={"new/n.txt": "N"}),
    Scenario("remote create", remote_change={"r.txt": "R"}, expect_local={"r.txt": "R"}),
    Scenario(
        "local modify",
        local_before={"m.txt": "v1"},
        local_change={"m.txt": "v2 local"},
        expect_local={"m.txt": "v2 local"},
        backed_up={"v1"},
    ),
    Scenario(
        "remote modify",
        local_before={"m.txt": "v1"},
        remote_change={"m.txt": "v2 rem"},
        expect_local={"m.txt": "v2 rem"},
        backed_up={"v1"},
    ),
    Scenario(
        "local delete propagates after the first run",
        local_before={"d.txt": "gone"},
        local_change={"d.txt": None},
        expect_local={"d.txt": None},
        backed_up={"gone"},
    ),
    Scenario(
        "remote delete propagates after the first run",
        local_before={"d.txt": "gone"},
        remote_change={"d.txt": None},
        expect_local={"d.txt": None},
        backed_up={"gone"},
    ),
    Scenario(
        "both sides edit the same file: both versions kept",
        local_before={"c.txt": "base"},
        local_change={"c.txt": "local edit"},
        remote_change={"c.txt": "remote edit"},
        remote_newer=True,
        versions={"c.txt": {"local edit", "remote edit"}},
    ),
    Scenario(
        "push-only: local changes and deletes go up, replaced files backed up",
        direction="push-only",
        local_before={"p.txt": "p1", "q.txt": "q"},
        local_change={"p.txt": "p2", "q.txt": None},
        expect_local={"p.txt": "p2", "q.txt": None},
        backed_up={"p1", "q"},
    ),
    Scenario(
        "push-only: remote-only changes are overwritten, with a backup",
        direction="push-only",
        local_before={"p.txt": "mine"},
        remote_change={"p.txt": "theirs", "extra.txt": "x"},
        expect_local={"p.txt": "mine", "extra.txt": None},
        backed_up={"theirs", "x"},
    ),
    Scenario(
        "pull-only: remote wins, local replaced files backed up",
        direction="pull-only",
        remote_before={**BASELINE, "g.txt": "g1"},
        local_before={"mine.txt": "local only"},
        remote_change={"g.txt": "g2"},
        expect_local={"g.txt": "g2", "mine.txt": None},
        expect_remote={"g.txt": "g2"},
        backed_up={"local only", "g1"},
    ),
]


@pytest.mark.parametrize("sc", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario(sc: Scenario, s3: S3Server, tmp_path: Path) -> None:
    config = make_spec(tmp_path, [{"name": "data", "direction": sc.direction}])
    local = config.parent.parent / "data"
    remote = Remote(s3, "acme/web/demo/data")
    env = remote.env
    now = time.time()
    write_tree(
        local,
        {**(BASELINE if sc.direction != "pull-only" else {}), **sc.local_before},
        mtime=now - 100,
    )
    remote.write(sc.remote_before, tmp_path, mtime=now - (50 if sc.remote_newer else 200))
    first = once(config, env, tmp_path / "home")
    assert [v.status.outcome for v in first] == ["ok"], first[0].status.error

    write_tree(local, sc.local_change, mtime=now + 100)
    remote.write(sc.remote_change, tmp_path, mtime=now + (200 if sc.remote_newer else 50))
    second = once(config, env, tmp_path / "home")
    assert [v.status.outcome for v in second] == ["ok"], second[0].status.error

    local_tree, remote_tree = read_tree(local), remote.tree()
    expect_remote = sc.expect_local if sc.expect_remote is None else sc.expect_remote
    for side, tree, expect in (
        ("local", local_tree, sc.expect_local),
        ("remote", remote_tree, expect_remote),
    ):
        for rel, content in expect.items():
            assert tree.get(rel) == content, f"{side}: {rel}"
    if sc.direction == "bidirectional":
        assert local_tree == remote_tree  # converged, contents included
        for rel, content in BASELINE.items():
            assert local_tree[rel] == content
    for stem, contents in sc.versions.items():
        for tree in (local_tree, remote_tree):
            assert {c for rel, c in tree.items() if rel.startswith(stem)} == contents
    backups = set(local_backups(config).values()) | set(remote.backups().values())
    assert sc.backed_up <= backups, f"not recoverable: {sc.backed_up - backups}"
    if sc.backed_up:  # and `status` lists where they are
        assert first[0].status.backups or second[0].status.backups
