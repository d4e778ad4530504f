"""Benchmark: the nexus at 200 workspaces, each command side by side with its peer.

    .venv/bin/python bench/nexus.py [--quick] [--workspaces 200] [--update 50] [--repeat 3]
                                    [--no-write] [--rebuild]

The workspaces are real: rendered once with copier through `coltec.template.create.new_workspace`
(what `cs:new` runs) from a template repository made of this repository's committed
copier.yaml, template/ and base-image/, tagged v1; a small template change is then
tagged v2, so every workspace has an update waiting. The rendered nexus (a git
repository) is cached under ~/.cache/coltec-bench/ keyed by the template's git trees
and the count; each measurement works on a fresh copy, so every side starts alike.

Timed, whole CLI runs each (interpreter start-up included):
- `invoke validate` (all) vs `check-jsonschema --schemafile` on the same spec files;
- `invoke list` with DOCKER_HOST at a socket that does not exist (no peer: nothing
  else lists these workspaces);
- `invoke outdated` (with and without the hand-edit check) vs a plain shell loop of
  `copier check-update` over the same workspaces;
- `invoke update --all` on `--update` workspaces vs a plain shell loop of `copier update`
  (one commit per workspace, as copier refuses a dirty repository) over a copy of
  the same workspaces.
Replaces the "## Nexus" section of bench/results.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import BIN, REPO, machine, table, tool_env, write_section

SECTION = "## Nexus"
CACHE_VERSION = "1"
ORGS = ("acme", "globex", "initech", "umbrella", "hooli")
PROJECTS = ("api", "web", "billing", "search", "ml", "infra", "docs")
TYPES = ("python", "node", "rust", "generic")
GIT_ID = ("-c", "user.name=coltec bench", "-c", "user.email=bench@coltec.invalid")
NO_DOCKER = "unix:///nonexistent/coltec-bench/docker.sock"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *GIT_ID, *args], cwd=cwd, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "coltec-bench"


def cache_key(count: int, update: int) -> str:
    trees = [
        git(REPO, "rev-parse", f"HEAD:{p}") for p in ("copier.yaml", "template", "schema", "policy")
    ]
    text = "\n".join([CACHE_VERSION, str(count), str(update), *trees])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Cache:
    root: Path

    @property
    def template(self) -> Path:
        return self.root / "template"

    @property
    def policy(self) -> Path:
        return self.root / "policy"

    @property
    def nexus(self) -> Path:
        return self.root / "nexus"

    @property
    def nexus_update(self) -> Path:
        return self.root / "nexus-update"

    @property
    def ready(self) -> Path:
        return self.root / "ready"


def make_template(cache: Cache) -> None:
    """This repository's committed template as its own git repository: v1, then v2."""
    cache.template.mkdir(parents=True)
    archive = subprocess.run(
        # copier.yaml reads the spec schema's bounds and defaults: schema/ goes too.
        ["git", "archive", "HEAD", "copier.yaml", "template", "schema", "base-image"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x"], input=archive, cwd=cache.template, check=True)
    git(cache.template, "init", "-q", "-b", "main")
    git(cache.template, "add", "-A")
    git(cache.template, "commit", "-q", "-m", "template v1")
    git(cache.template, "tag", "v1")
    # The change an update brings: one line in two rendered files.
    readme = cache.template / "template" / "README-coltec-workspace.md.jinja"
    readme.write_text(readme.read_text() + "\nTemplate v2: benchmark change.\n")
    ignore = cache.template / "template" / ".gitignore.jinja"
    ignore.write_text(ignore.read_text() + "# template v2\n*.bench-v2\n")
    git(cache.template, "commit", "-q", "-am", "template v2")
    git(cache.template, "tag", "v2")


def build_env(cache: Cache, codespaces: Path) -> dict[str, str]:
    """The environment every nexus command runs in (no user config, the cached policy)."""
    env = tool_env(
        {
            "COLTEC_CODESPACES_DIR": str(codespaces),
            "COLTEC_POLICY_DIR": str(cache.policy),
            "COLTEC_USER_CONFIG": "",
            "NO_COLOR": "1",
            "TERM": "dumb",
            # The bench's own repositories: both sides commit (the loop after each
            # copier update, copier in its scratch repositories) on machines whose
            # user has no git identity too.
            "GIT_AUTHOR_NAME": "coltec bench",
            "GIT_AUTHOR_EMAIL": "bench@coltec.invalid",
            "GIT_COMMITTER_NAME": "coltec bench",
            "GIT_COMMITTER_EMAIL": "bench@coltec.invalid",
        }
    )
    for var in ("COLTEC_TEMPLATE", "COLTEC_TEMPLATE_REF"):
        env.pop(var, None)
    return env


def render(cache: Cache, count: int) -> None:
    """`count` workspaces rendered by copier through cs:new's own function, committed."""
    os.environ.update(build_env(cache, cache.nexus / "codespaces"))
    os.environ.update(COLTEC_TEMPLATE=str(cache.template), COLTEC_TEMPLATE_REF="v1")
    from coltec.template.create import new_workspace

    cache.nexus.mkdir(parents=True)
    git(cache.nexus, "init", "-q", "-b", "main")
    started = time.perf_counter()
    for i in range(count):
        org, project = ORGS[i % len(ORGS)], PROJECTS[i % len(PROJECTS)]
        data = [f"project={project}", f"project_type={TYPES[i % len(TYPES)]}"]
        created = new_workspace(f"{org}/{project}-{i:03d}", data, defaults=True)
        if not created.validation.ok:
            problems = [p.format() for r in created.validation.reports for p in r.problems]
            raise SystemExit(f"rendered workspace is invalid: {problems[:3]}")
        if (i + 1) % 25 == 0:
            print(
                f"nexus: rendered {i + 1}/{count} ({time.perf_counter() - started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )
    for var in ("COLTEC_TEMPLATE", "COLTEC_TEMPLATE_REF"):
        os.environ.pop(var, None)
    git(cache.nexus, "add", "-A")
    git(cache.nexus, "commit", "-q", "-m", f"{count} workspaces at template v1")


def subset(cache: Cache, count: int) -> None:
    """A second nexus holding `count` of the workspaces (every org), for the update runs."""
    everything = sorted((cache.nexus / "codespaces").glob("*/*"))
    step = max(1, len(everything) // count)
    dst = cache.nexus_update / "codespaces"
    for ws in everything[::step][:count]:
        shutil.copytree(ws, dst / ws.parent.name / ws.name)
    git(cache.nexus_update, "init", "-q", "-b", "main")
    git(cache.nexus_update, "add", "-A")
    git(cache.nexus_update, "commit", "-q", "-m", f"{count} workspaces at template v1")


def ensure_cache(count: int, update: int, rebuild: bool) -> tuple[Cache, float | None]:
    """The cached nexus (built when missing); the render time when it was built now."""
    cache = Cache(cache_root() / f"nexus-{cache_key(count, update)}")
    if cache.ready.exists() and not rebuild:
        return cache, None
    shutil.rmtree(cache.root, ignore_errors=True)
    cache.root.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", "HEAD", "policy"], cwd=REPO, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x"], input=archive, cwd=cache.root, check=True)
    make_template(cache)
    started = time.perf_counter()
    render(cache, count)
    rendered = time.perf_counter() - started
    subset(cache, update)
    cache.ready.write_text(f"{rendered:.1f}\n")
    return cache, rendered


# -- measuring -----------------------------------------------------------------------


@dataclass
class Timing:
    label: str
    times: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def run(argv: list[str], env: dict[str, str], cwd: Path = REPO, ok: tuple[int, ...] = (0,)) -> str:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if done.returncode not in ok:
        raise SystemExit(
            f"{' '.join(argv[:3])} ... exited {done.returncode}:\n"
            f"{done.stdout[-1500:]}\n{done.stderr[-1500:]}"
        )
    return done.stdout


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def side_by_side(pairs: list[tuple[Timing, Callable[[], object]]], repeat: int) -> None:
    """Each callable once to warm caches, then `repeat` interleaved rounds."""
    for _, fn in pairs:
        fn()
    for _ in range(repeat):
        for t, fn in pairs:
            t.times.append(timed(fn))


def shell_loop(command: str, folders: list[Path], env: dict[str, str], cwd: Path) -> None:
    """The plain loop a team would write: `for d in ...; do COMMAND "$d"; done`."""
    script = f'for d in "$@"; do {command}; done'
    run(["bash", "-c", script, "loop", *map(str, folders)], env, cwd=cwd)


def fresh_copy(src: Path, scratch: Path, name: str) -> Path:
    dst = scratch / name
    shutil.copytree(src, dst, symlinks=True)
    return dst


def bench_readonly(cache: Cache, scratch: Path, repeat: int) -> dict[str, Timing]:
    nexus = fresh_copy(cache.nexus, scratch, "nexus-readonly")
    codespaces = nexus / "codespaces"
    env = build_env(cache, codespaces)
    specs = sorted(codespaces.glob("*/*/.devcontainer/workspace-spec.yaml"))
    folders = sorted(p.parent.parent for p in specs)
    invoke = str(BIN / "invoke")
    t: dict[str, Timing] = {
        k: Timing(k)
        for k in ("validate", "check-jsonschema", "list", "outdated", "outdated-noedits", "loop")
    }
    side_by_side(
        [
            (t["validate"], lambda: run([invoke, "validate"], env)),
            (
                t["check-jsonschema"],
                lambda: run(
                    [
                        str(BIN / "check-jsonschema"),
                        "--schemafile",
                        str(REPO / "schema" / "workspace-spec.schema.json"),
                        *map(str, specs),
                    ],
                    env,
                ),
            ),
        ],
        repeat,
    )
    no_docker = {**env, "DOCKER_HOST": NO_DOCKER}
    listed = json.loads(run([invoke, "list", "--json"], no_docker))
    rows = listed["workspaces"]
    t["list"].note = f"{len(rows)} rows"
    side_by_side([(t["list"], lambda: run([invoke, "list"], no_docker))], repeat)
    # outdated: one round each (every side renders or asks copier per workspace).
    report: list[dict[str, object]] = []
    t["outdated"].times.append(
        timed(lambda: report.extend(json.loads(run([invoke, "outdated", "--json"], env))))
    )
    behind = sum(1 for d in report if d.get("outdated"))
    edited = sum(1 for d in report if d.get("edited") or d.get("missing"))
    errors = [d.get("error") for d in report if d.get("error")]
    t["outdated"].note = f"{behind}/{len(report)} outdated, {edited} hand-edited"
    if errors:
        t["outdated"].note += f", {len(errors)} errors: {str(errors[0])[:120]}"
    t["outdated-noedits"].times.append(
        timed(lambda: run([invoke, "outdated", "--no-edits", "--json"], env))
    )
    t["loop"].times.append(
        timed(
            lambda: shell_loop(
                f'{BIN / "copier"} check-update --output-format json "$d" >/dev/null',
                folders,
                env,
                nexus,
            )
        )
    )
    return t


def bench_update(cache: Cache, scratch: Path) -> dict[str, Timing]:
    t = {"update": Timing("update"), "loop": Timing("loop")}
    # The plain loop first, ours second: any warm-up (page cache, .pyc) favours ours
    # by no more than it favoured the loop in its own warm-up run below.
    warm = fresh_copy(cache.nexus_update, scratch, "update-warm")
    warm_ws = sorted((warm / "codespaces").glob("*/*"))[:1]
    env = build_env(cache, warm / "codespaces")
    shell_loop(_copier_update_command(), warm_ws, env, warm)

    theirs = fresh_copy(cache.nexus_update, scratch, "update-loop")
    folders = sorted((theirs / "codespaces").glob("*/*"))
    env = build_env(cache, theirs / "codespaces")
    t["loop"].times.append(
        timed(lambda: shell_loop(_copier_update_command(), folders, env, theirs))
    )
    changed = git(theirs, "log", "--oneline").count("\n")
    t["loop"].note = f"{changed} commits"

    ours = fresh_copy(cache.nexus_update, scratch, "update-ours")
    env = build_env(cache, ours / "codespaces")
    out: list[dict[str, object]] = []
    t["update"].times.append(
        timed(
            lambda: out.extend(
                json.loads(run([str(BIN / "invoke"), "update", "--all", "--json"], env, ok=(0, 1)))
            )
        )
    )
    counts: dict[str, int] = {}
    for r in out:
        counts[str(r.get("outcome"))] = counts.get(str(r.get("outcome")), 0) + 1
    t["update"].note = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    same = _same_files(theirs / "codespaces", ours / "codespaces")
    t["update"].note += "; same files as the loop" if same else "; FILES DIFFER from the loop"
    return t


def _copier_update_command() -> str:
    copier = BIN / "copier"
    return (
        f'{copier} update --defaults --skip-answered --skip-tasks --conflict inline --quiet "$d"'
        ' && git add -A "$d" && git commit -q -m "update $d"'
    )


def _same_files(a: Path, b: Path) -> bool:
    """The same workspace files, but for the render manifest: ours records the new
    render there, a plain copier update leaves the old one (which then goes unused)."""

    def files(root: Path) -> dict[str, bytes]:
        return {
            p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and p.name != ".coltec-rendered.json"
        }

    return files(a) == files(b)


# -- report --------------------------------------------------------------------------


def report(
    t: dict[str, Timing], u: dict[str, Timing], n: int, n_update: int, repeat: int, rendered: str
) -> str:
    def s(x: Timing) -> str:
        return f"{x.median:.2f} s"

    def per(x: Timing, count: int) -> str:
        return f"{x.median / count * 1000:.0f} ms"

    rows = [
        [
            f"validate all {n}",
            "`invoke validate`",
            s(t["validate"]),
            "`check-jsonschema --schemafile`",
            s(t["check-jsonschema"]),
            f"**{t['validate'].median / t['check-jsonschema'].median:.2f}**",
            f"{repeat} (median)",
        ],
        [
            f"list {n}, no Docker",
            "`invoke list`",
            s(t["list"]),
            "—",
            "—",
            f"{per(t['list'], n)} / workspace",
            f"{repeat} (median)",
        ],
        [
            f"outdated {n}",
            "`invoke outdated`",
            s(t["outdated"]),
            "loop of `copier check-update`",
            s(t["loop"]),
            f"**{t['outdated'].median / t['loop'].median:.2f}**",
            "1",
        ],
        [
            f"outdated {n}, --no-edits",
            "`invoke outdated --no-edits`",
            s(t["outdated-noedits"]),
            "loop of `copier check-update`",
            s(t["loop"]),
            f"**{t['outdated-noedits'].median / t['loop'].median:.3f}**",
            "1",
        ],
        [
            f"update {n_update} (v1 → v2)",
            "`invoke update --all`",
            s(u["update"]),
            "loop of `copier update` + commit",
            s(u["loop"]),
            f"**{u['update'].median / u['loop'].median:.2f}**",
            "1",
        ],
    ]
    header = ["command", "ours", "time", "peer", "time", "ratio ours/peer", "runs"]
    notes = [
        f"- list: {t['list'].note}, {per(t['list'], n)} per workspace.",
        f"- outdated: {t['outdated'].note}.",
        f"- update, ours: {u['update'].note}; loop: {u['loop'].note}.",
    ]
    return "\n".join(
        [
            SECTION,
            "",
            f"`python bench/nexus.py --workspaces {n} --update {n_update} --repeat {repeat}` — "
            f"{machine()}.",
            "",
            f"{n} workspaces rendered by copier through `cs:new`'s own function from this "
            f"repository's committed template (tagged v1; a v2 tag changes two files). "
            f"Rendering them took {rendered} (cached between runs). Every figure is a whole "
            "CLI run (interpreter start-up included); each side starts from its own copy "
            "of the same nexus.",
            "",
            table(header, rows, "llrlrrr"),
            "",
            *notes,
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--quick", action="store_true", help="40 workspaces, update 10, 1 round")
    parser.add_argument("--workspaces", type=int, default=None)
    parser.add_argument("--update", type=int, default=None, help="workspaces updated (50)")
    parser.add_argument("--repeat", type=int, default=None, help="rounds of the quick commands")
    parser.add_argument("--no-write", action="store_true", help="do not touch bench/results.md")
    parser.add_argument("--rebuild", action="store_true", help="render the cached nexus again")
    args = parser.parse_args(argv)
    n = args.workspaces or (40 if args.quick else 200)
    n_update = args.update or (10 if args.quick else 50)
    repeat = args.repeat or (1 if args.quick else 3)
    os.environ["PATH"] = tool_env()["PATH"]
    cache, rendered_s = ensure_cache(n, n_update, args.rebuild)
    built = (cache.ready.read_text().strip()) if rendered_s is None else f"{rendered_s:.1f}"
    rendered = f"{built} s ({float(built) / n * 1000:.0f} ms per workspace)"
    print(f"nexus: cache {cache.root}", file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix="coltec-nexus-") as tmp:
        scratch = Path(tmp)
        print("nexus: validate, list, outdated ...", file=sys.stderr, flush=True)
        t = bench_readonly(cache, scratch, repeat)
        print("nexus: update ...", file=sys.stderr, flush=True)
        u = bench_update(cache, scratch)
    body = report(t, u, n, n_update, repeat, rendered)
    print(body)
    if not args.no_write:
        write_section(SECTION, body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
