"""The scheduler's import structure: no module imports another in a circle (TYPE_CHECKING imports included),
and the stores hold no rules: no store module imports the pure core (core, policy, admission)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "services.scheduler"
ROOT = Path(__file__).resolve().parents[2] / "services" / "scheduler"
CORE = {f"{PACKAGE}.core", f"{PACKAGE}.policy", f"{PACKAGE}.admission"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every services.scheduler module `path` imports, by any import statement anywhere in it."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith(PACKAGE)}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    return {name: {i for i in imports_of(path) if i in modules and i != name} for name, path in modules.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_scheduler_module_imports_another_in_a_circle() -> None:
    edges = graph()
    assert f"{PACKAGE}.store.sqlite" in edges and f"{PACKAGE}.core" in edges
    assert cycles(edges) == []


def test_no_store_module_imports_the_core() -> None:
    edges = graph()
    stores = {name: deps for name, deps in edges.items() if name.startswith(f"{PACKAGE}.store")}
    assert len(stores) >= 5
    assert {name: sorted(deps & CORE) for name, deps in stores.items() if deps & CORE} == {}


def test_the_core_does_no_io_and_knows_no_grpc() -> None:
    for name in ("core", "policy", "admission", "model", "backoff", "breaker", "waits"):
        imported = set()
        for node in ast.walk(ast.parse((ROOT / f"{name}.py").read_text())):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
        assert not imported & {"grpc", "skillbridge", "redis", "sqlite3", "asyncio"}, (name, imported)
