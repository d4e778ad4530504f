"""The layout rules of README's "Layout" section, kept: small modules, one direction.

- no product module over 300 lines, tasks.py at most 250 (thin tasks: call, render, exit);
- no import cycle between product modules, function-level and type-only imports included;
- layers point one way: host cli -> hosts -> runtime -> template -> checks, worker
  cli -> sync -> declaration (never back); shared modules import no layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {"coltec": REPO / "coltec", "coltec_worker": REPO / "worker" / "coltec_worker"}
# Each side's layers, top first: a module imports only from its own layer or lower ones.
LAYERS = {
    "host": ["coltec.cli", "coltec.hosts", "coltec.runtime", "coltec.template", "coltec.checks"],
    "worker": ["coltec_worker.cli", "coltec_worker.sync", "coltec_worker.declaration"],
}


def modules() -> dict[str, Path]:
    out: dict[str, Path] = {}
    for name, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            parts = [name, *path.relative_to(root).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


def imports(path: Path, known: dict[str, Path], me: str) -> set[str]:
    """Product modules `me` imports anywhere in its file (a parent package's own is skipped)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != me and not me.startswith(name + "."):
                found.add(name)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(p, known, m) for m, p in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_product_module_over_300_lines_and_tasks_py_thin() -> None:
    sizes = {m: len(p.read_text(encoding="utf-8").splitlines()) for m, p in modules().items()}
    assert len(sizes) > 50  # both trees were found
    assert {m: n for m, n in sizes.items() if n > 300} == {}
    assert len((REPO / "tasks.py").read_text(encoding="utf-8").splitlines()) <= 250


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


@pytest.mark.parametrize("side", sorted(LAYERS))
def test_layers_point_one_way(side: str) -> None:
    layers = LAYERS[side]
    package = layers[0].partition(".")[0]

    def layer(module: str) -> int | None:
        for i, prefix in enumerate(layers):
            if module == prefix or module.startswith(prefix + "."):
                return i
        # the package's shared modules (errors, proc, ...) sit below every layer
        return len(layers) if module.startswith(package + ".") else None

    backwards = [
        (m, t)
        for m, targets in graph().items()
        for t in targets
        if (a := layer(m)) is not None and (b := layer(t)) is not None and b < a
    ]
    assert backwards == []
