"""The package's layering (style.md, principle 10), checked on the import statements themselves (ast)."""

from __future__ import annotations

from functools import lru_cache

import pytest

from facerecon.study.codehash import imported_modules
from facerecon.study.paths import PACKAGE_DIR

DOMAIN = ("data", "mesh", "models", "training", "denoise", "metrics", "landmarks", "comparison", "photo", "claims", "augment")


def all_modules() -> list[str]:
    names = []
    for file in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = file.relative_to(PACKAGE_DIR).with_suffix("").parts
        names.append(".".join(("facerecon",) + (parts[:-1] if parts[-1] == "__init__" else parts)))
    return names


@lru_cache(maxsize=1)
def import_graph() -> dict[str, set[str]]:
    return {m: imported_modules(m, with_parents=False) - {m} for m in all_modules()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path ``[a, b, ..., a]``, or None (iterative DFS with colours)."""
    colour = {m: 0 for m in graph}
    for root in graph:
        if colour[root]:
            continue
        stack = [(root, iter(sorted(graph[root])))]
        path = [root]
        colour[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(child) == 1:
                return path[path.index(child):] + [child]
            elif colour.get(child) == 0:
                colour[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph[child]))))
    return None


def layer(module: str) -> str:
    part = module.split(".")[1] if "." in module else ""
    return {"study": "infrastructure", "figures": "figures", "cli": "cli"}.get(
        part, "domain" if part in DOMAIN else "root")


def test_no_import_cycles():
    assert find_cycle(import_graph()) is None, f"import cycle: {' -> '.join(find_cycle(import_graph()))}"


def test_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


ALLOWED = {  # which layers each layer may import
    "root": set(),
    "infrastructure": {"infrastructure", "root"},
    "domain": {"domain", "infrastructure", "root"},
    "figures": {"figures", "domain", "infrastructure", "root"},
    "cli": {"cli", "figures", "domain", "infrastructure", "root"},
}


@pytest.mark.parametrize("module", all_modules())
def test_layering(module):
    bad = sorted(dep for dep in import_graph()[module] if layer(dep) not in ALLOWED[layer(module)])
    assert not bad, f"{module} ({layer(module)}) imports {bad}: see the dependency rule in facerecon/__init__.py"


def test_graph_sees_relative_and_function_level_imports():
    graph = import_graph()
    assert "facerecon.study.paths" in graph["facerecon.study.results"]           # relative, top level
    assert "facerecon.data.convert" in graph["facerecon.cli.data"]               # inside a function
