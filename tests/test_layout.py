"""The package's layout: dependencies point one way, modules stay short.

These tests read the source (``ast``), so they check what every import does at
import time without importing anything. The layers, from the edges down:

====================  ===================================================
rank                  parts
====================  ===================================================
edges                 plugin, cli, standalone, console, checkclient,
                      responders, ``__main__``, the package's ``__init__``
server                server, listeners, inspection, describe
web                   web, faults
va / ca / httpd       va, ca, crls, httpd
state                 store, config, records, clock, workers, strictjson
protocol              protocol (pure rules: no I/O, no threads, no state)
====================  ===================================================

A module may import its own layer or any layer below it, never one above.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "pytest_acme"
MAX_LINES = 500

RANKS = {
    "protocol": 0,
    "store": 1, "config": 1, "records": 1, "clock": 1, "workers": 1, "strictjson": 1,
    "va": 2, "ca": 2, "crls": 2, "httpd": 2,
    "web": 3, "faults": 3,
    "server": 4, "inspection": 4, "describe": 4, "listeners": 4,
    "plugin": 5, "cli": 5, "standalone": 5, "console": 5, "checkclient": 5,
    "responders": 5, "__main__": 5, "": 5,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES: Dict[str, Path] = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def area(module: str) -> str:
    """The first part below the package: ``web`` for ``pytest_acme.web.app``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def target_of(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def runtime_imports(tree: ast.Module) -> Iterator[ast.stmt]:
    """Module-level imports that run when the module is imported (not the ones
    under ``if TYPE_CHECKING:`` or inside functions)."""
    def walk(body: List[ast.stmt]) -> Iterator[ast.stmt]:
        for stmt in body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                yield stmt
            elif isinstance(stmt, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(stmt.test):
                    yield from walk(stmt.body)
                yield from walk(stmt.orelse)
            elif isinstance(stmt, ast.Try):
                yield from walk(stmt.body)
                for handler in stmt.handlers:
                    yield from walk(handler.body)
    return walk(tree.body)


def every_import(tree: ast.Module) -> Iterator[ast.stmt]:
    """Every import a run may execute, function-level ones included (a lazy
    import is still a dependency), but not the ones under ``if TYPE_CHECKING:``."""
    def walk(body: List[ast.stmt]) -> Iterator[ast.stmt]:
        for stmt in body:
            if isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test):
                yield from walk(stmt.orelse)
                continue
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                yield stmt
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(stmt, name, None)
                if isinstance(inner, list):
                    yield from walk(inner)
            for handler in getattr(stmt, "handlers", None) or ():
                yield from walk(handler.body)
    return walk(tree.body)


def imported_modules(module: str, stmt: ast.stmt) -> Iterator[Tuple[str, str]]:
    """(module, name) pairs of the package that one import statement names."""
    if isinstance(stmt, ast.ImportFrom):
        target = target_of(module, stmt)
        if target.split(".")[0] != "pytest_acme":
            return
        for alias in stmt.names:
            sub = f"{target}.{alias.name}"
            yield (sub, "") if sub in MODULES else (target, alias.name)
    elif isinstance(stmt, ast.Import):
        for alias in stmt.names:
            if alias.name.split(".")[0] == "pytest_acme":
                yield alias.name, ""


def dependencies(lazy: bool = False) -> Dict[str, Set[str]]:
    """Which modules each module imports when it is imported; with ``lazy``, also
    the ones its functions import when they run."""
    imports = every_import if lazy else runtime_imports
    graph: Dict[str, Set[str]] = {}
    for module, path in MODULES.items():
        deps = graph.setdefault(module, set())
        for stmt in imports(ast.parse(path.read_text())):
            for target, _ in imported_modules(module, stmt):
                # A package's __init__ importing its own submodules is the normal
                # direction; a submodule importing its package's __init__ is not
                # an edge worth drawing either.
                if target in MODULES and target != module and not (
                        target.startswith(module + ".") or module.startswith(target + ".")):
                    deps.add(target)
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
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

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_every_part_of_the_package_has_a_layer() -> None:
    assert {area(m) for m in MODULES} <= set(RANKS)


def test_no_import_cycles() -> None:
    """Not even through an import inside a function: deferring an import to
    speed up start-up must not hide a knot."""
    assert cycles(dependencies(lazy=True)) == []


def test_dependencies_point_down() -> None:
    upward = [f"{m} imports {d}" for m, deps in dependencies().items() for d in deps
              if RANKS[area(d)] > RANKS[area(m)]]
    assert upward == []


@pytest.mark.parametrize("part", ["protocol", "httpd"])
def test_a_part_that_stands_alone_imports_only_itself(part: str) -> None:
    """protocol is pure rules; httpd knows HTTP, not ACME."""
    outside = []
    for module, path in MODULES.items():
        if area(module) != part:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                outside += [f"{module} imports {t}" for t, _ in imported_modules(module, node)
                            if area(t) != part]
    assert outside == []


def test_protocol_does_no_io() -> None:
    banned = {"socket", "threading", "selectors", "ssl", "werkzeug", "http", "urllib"}
    found = []
    for module, path in MODULES.items():
        if area(module) != "protocol":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            found += [f"{module} imports {n}" for n in names if n.split(".")[0] in banned]
    assert found == []


def test_no_private_name_is_imported_from_another_module() -> None:
    found = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                found += [f"{module}: {t}.{name}" for t, name in imported_modules(module, node)
                          if name.startswith("_") and not name.startswith("__")]
    assert found == []


def test_modules_fit_in_a_head() -> None:
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert long == {}
