"""cs:up/cs:down of many workspaces: which ones, how many at a time, what an interrupt
leaves (coltec.runtime.many, with real threads and a real SIGINT; the engine's side is
in test_many_e2e.py)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from coltec.errors import LifecycleError, UsageError
from coltec.runtime.many import Done, default_jobs, run_bounded, targets, up_all
from coltec.workspaces import Workspace


@pytest.fixture
def nexus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "codespaces"
    for key in ("acme/api", "acme/web", "beta/etl", "beta/ml", "gamma/one"):
        (root / key / ".devcontainer").mkdir(parents=True)
    monkeypatch.setenv("COLTEC_CODESPACES_DIR", str(root))
    return root


def keys(found: list[Workspace] | None) -> list[str] | None:
    return None if found is None else [w.key for w in found]


def test_one_name_is_the_one_workspace_command(nexus: Path) -> None:
    assert targets(["acme/api"], every=False, task="cs:up") is None


def test_all_org_filters_and_several_names(nexus: Path) -> None:
    every = keys(targets([], every=True, task="cs:up"))
    assert every == ["acme/api", "acme/web", "beta/etl", "beta/ml", "gamma/one"]
    assert keys(targets(["beta/"], every=False, task="cs:up")) == ["beta/etl", "beta/ml"]
    assert keys(targets(["beta/"], every=True, task="cs:up")) == ["beta/etl", "beta/ml"]
    assert keys(targets(["gamma/one", "acme/"], every=False, task="cs:up")) == [
        "gamma/one",
        "acme/api",
        "acme/web",
    ]
    assert keys(targets(["acme/api", "acme/"], every=False, task="cs:up")) == [
        "acme/api",
        "acme/web",
    ]


@pytest.mark.parametrize(
    ("words", "every", "said"),
    [
        ([], False, "expected ORG/NAME, ORG/ or --all"),
        (["acme/api"], True, "not both"),
        (["nope/"], False, "no workspaces in nope/"),
        (["Bad Org/"], False, "not a slug"),
    ],
)
def test_bad_selections_are_usage_errors(
    nexus: Path, words: list[str], every: bool, said: str
) -> None:
    with pytest.raises(UsageError) as caught:
        targets(words, every=every, task="cs:up")
    assert said in caught.value.message


def test_an_unknown_name_among_several_is_named(nexus: Path) -> None:
    with pytest.raises(Exception) as caught:
        targets(["acme/api", "acme/nope"], every=False, task="cs:up")
    assert "acme/nope" in str(caught.value)


def test_the_default_is_bounded() -> None:
    assert 1 <= default_jobs() <= 8


class Gate:
    """Work that holds each workspace until the test lets it go; counts concurrency."""

    def __init__(self, fail: str = "") -> None:
        self.lock = threading.Lock()
        self.now = self.most = 0
        self.started: list[str] = []
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        self.fail = fail

    def __call__(self, ws: Workspace) -> Done:
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)
            self.started.append(ws.key)
        self.entered.release()
        self.release.wait(30)
        with self.lock:
            self.now -= 1
        if ws.key == self.fail:
            raise LifecycleError(f"{ws.key}: devcontainer up exited 1")
        return Done(ws.key, "up", True, "on local")


def workspaces(n: int, tmp_path: Path) -> list[Workspace]:
    return [Workspace("acme", f"w{i}", tmp_path / f"w{i}") for i in range(n)]


def test_at_most_jobs_at_a_time_and_a_line_for_each(tmp_path: Path) -> None:
    gate = Gate(fail="acme/w3")
    lines: list[Done] = []
    items = workspaces(7, tmp_path)
    releaser = threading.Thread(
        target=lambda: [gate.entered.acquire(timeout=30) for _ in range(3)] and gate.release.set()
    )
    releaser.start()
    run = up_all(items, lambda ws: gate(ws).detail, jobs=3, report=lines.append)
    releaser.join()
    assert gate.most == 3  # three were in flight together, never more
    assert [d.workspace for d in run.done] == [w.key for w in items]  # summary in order
    assert sorted(d.workspace for d in lines) == sorted(w.key for w in items)
    [failed] = run.failed
    assert failed.workspace == "acme/w3" and "exited 1" in failed.detail
    assert not run.ok and not run.interrupted


def test_an_interrupt_finishes_what_runs_and_starts_nothing_more(tmp_path: Path) -> None:
    gate = Gate()
    told: list[tuple[int, int]] = []
    items = workspaces(6, tmp_path)

    def interrupt_then_release() -> None:
        for _ in range(2):
            gate.entered.acquire(timeout=30)
        os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, while two are in flight
        while not told:
            threading.Event().wait(0.01)
        gate.release.set()

    helper = threading.Thread(target=interrupt_then_release)
    helper.start()
    done, interrupted = run_bounded(
        items, gate, 2, lambda d: None, lambda r, n: told.append((r, n))
    )
    helper.join()
    assert interrupted and told == [(2, 4)]
    assert [d.state for d in done] == ["up", "up"] + ["not started"] * 4
    assert gate.started == ["acme/w0", "acme/w1"]  # nothing after the interrupt
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handler restored
