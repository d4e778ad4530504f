"""cs:up --all and cs:down --all on a real Docker engine, through the README's commands:
every workspace up at once, data written in each, all flushed and stopped, then a fresh
clone of the nexus restores every workspace's data from the bucket (contents compared)."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.host.runtime.test_lifecycle_e2e import (
    INTERVAL,
    NEW_ANSWERS,
    SLACK,
    Tier,
    git,
    make_nexus,
    tier,
    wait_for,
)

__all__ = ["tier"]  # the module-scoped fixture, used here too

WORKSPACES = [f"many/w{i}-dev" for i in range(4)]


def prefix(key: str) -> str:
    name = key.split("/")[1]
    return f"many/{name}/dev/{name}/workspace"  # {org}/{project}/{env}/{name}/workspace


def test_up_all_down_all_then_a_fresh_clone_restores_every_workspace(tier: Tier) -> None:
    alice = make_nexus(tier.root / "many-alice" / "nexus")
    env = tier.env(alice, tier.root / "many-alice" / "home")
    for key in WORKSPACES:
        name = key.split("/")[1]
        tier.cs(env, "cs:new", key, *NEW_ANSWERS, "--data", f"project={name}")
        tier.workspace_dirs.append(alice / "codespaces" / key)
    git(alice, "add", "-A")
    git(alice, "commit", "-qm", "four workspaces")

    up = tier.cs(env, "cs:up", "--all", "--jobs", "2")
    for key in WORKSPACES:
        assert f"✓ {key} up" in up.stdout, up.stdout
    assert f"{len(WORKSPACES)} up" in up.stdout

    written = {key: f"{key} {uuid.uuid4().hex}\n" for key in WORKSPACES}
    for key, text in written.items():
        (alice / "codespaces" / key / "mine.txt").write_text(text)

    down = tier.cs(env, "cs:down", "--all")
    for key in WORKSPACES:
        assert f"✓ {key} flushed" in down.stdout and f"✓ {key} stopped" in down.stdout, down.stdout
        assert tier.bucket_file(prefix(key), "mine.txt").read_text() == written[key]
    again = tier.cs(env, "cs:down", "many/")  # nothing left running: nothing to do, exit 0
    assert "not running" in again.stdout

    bob = tier.root / "many-bob" / "nexus"
    bob.parent.mkdir(parents=True)
    git(bob.parent, "clone", "-q", str(alice), str(bob))
    env = tier.env(bob, tier.root / "many-bob" / "home")
    for key in WORKSPACES:
        tier.workspace_dirs.append(bob / "codespaces" / key)
        assert not (bob / "codespaces" / key / "mine.txt").exists()
    tier.cs(env, "cs:up", "many/")

    def restored() -> bool:
        return all(
            (f := bob / "codespaces" / key / "mine.txt").is_file() and f.read_text() == text
            for key, text in written.items()
        )

    wait_for(
        "every workspace's data comes back in the fresh clone",
        restored,
        INTERVAL + SLACK,
        lambda: tier.cs(env, "cs:logs", WORKSPACES[0], "--lines", "15").stdout,
    )
    tier.cs(env, "cs:down", "--all")
    assert (
        Path(bob / "codespaces" / WORKSPACES[0] / "mine.txt").read_text() == written[WORKSPACES[0]]
    )
