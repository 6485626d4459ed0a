"""The packages depend one way, and no package reaches into another's private modules.

Layers, lowest first; a module may import from its own layer's package and from lower
layers only, never upward, and the import graph of modules has no cycle. A module named
``_x`` is private to its package: another package imports the name from the package's
``__init__`` instead. Tests and examples may import anything.

Where to put a new thing (docs/architecture.md, "Where things go") follows from this
table: a fake service in ``fakes``, an invariant family in ``scenarios``, a fault kind in
``faults``, a CLI command in ``ninelives.cli``, a report format in ``ninelives.reports``.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: lowest first; packages on one line of the table may not import each other either way
#: unless listed in ALLOWED_SIDEWAYS
LAYERS: list[tuple[str, ...]] = [
    ("ninelives.errors",),  # the error tree: imports nothing
    ("simulator",),
    ("fakes", "faults"),
    ("reference_agent",),
    ("scenarios",),
    ("ninelives.engine",),
    ("ninelives.reports",),
    ("ninelives.testing", "ninelives.bench", "ninelives.real"),
    ("ninelives.cli",),
    ("ninelives",),  # the thin doors: ninelives/__init__, pytest_plugin, hypothesis
]
ALLOWED_SIDEWAYS: set[tuple[str, str]] = set()
PACKAGES = [pkg for layer in LAYERS for pkg in layer]
#: public modules that are the door of a room below them: they re-export its names
DOORS = {"ninelives.pytest_plugin": "ninelives.testing",
         "ninelives.hypothesis": "ninelives.testing",
         "ninelives.__main__": "ninelives.cli",
         "ninelives.real.__main__": "ninelives.cli"}


def package_of(module: str) -> str:
    """The most specific listed package that ``module`` belongs to."""
    if module in DOORS:
        return DOORS[module]
    best = ""
    for pkg in PACKAGES:
        if (module == pkg or module.startswith(pkg + ".")) and len(pkg) > len(best):
            best = pkg
    return best


def layer_of(pkg: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if pkg in layer)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@functools.cache
def source_modules() -> dict[str, Path]:
    found = {}
    for top in ("simulator", "fakes", "faults", "reference_agent", "scenarios", "ninelives"):
        for path in sorted((ROOT / top).rglob("*.py")):
            found[module_name(path)] = path
    return found


def imports_of(module: str, path: Path) -> list[tuple[int, str, bool]]:
    """(line, imported module, at module level) for every import in the file; ``from pkg
    import name`` counts as importing ``pkg.name`` when that is a module."""
    modules = source_modules()
    is_pkg = path.name == "__init__.py"
    here = module.split(".") if is_pkg else module.split(".")[:-1]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top_level = {id(node) for node in tree.body}
    # imports under ``if TYPE_CHECKING:`` at module level are for type checkers only
    type_only: set[int] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            type_only.update(id(n) for n in ast.walk(node))
    out = []
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                out.append((node.lineno, alias.name, id(node) in top_level))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.append((node.lineno, sub if sub in modules else target,
                            id(node) in top_level))
    return out


def is_private(module: str) -> bool:
    return any(part.startswith("_") and part != "__main__" for part in module.split("."))


def private_owner(module: str) -> str:
    """The package a private module belongs to: the part before its first ``_`` name."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_"):
            return ".".join(parts[:i])
    return module


def violations() -> tuple[list[str], list[str]]:
    upward, private = [], []
    for module, path in source_modules().items():
        src_pkg = package_of(module)
        for line, target, _ in imports_of(module, path):
            dst_pkg = package_of(target)
            if not dst_pkg or dst_pkg == src_pkg:
                continue
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            if is_private(target) and private_owner(target) != src_pkg:
                private.append(where)
            src, dst = layer_of(src_pkg), layer_of(dst_pkg)
            if dst > src or (dst == src and (src_pkg, dst_pkg) not in ALLOWED_SIDEWAYS):
                upward.append(f"{where} ({src_pkg} -> {dst_pkg})")
    return upward, private


def test_no_upward_or_sideways_import() -> None:
    upward, _ = violations()
    assert upward == []


def test_no_private_module_across_package_lines() -> None:
    _, private = violations()
    assert private == []


def test_no_import_cycle_at_module_level() -> None:
    modules = source_modules()
    graph: dict[str, list[str]] = {}
    for module, path in modules.items():
        graph[module] = sorted({t for _, t, top in imports_of(module, path)
                                if top and t in modules and t != module})
    # a package's __init__ importing its own submodules is not a cycle of ideas
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt):], nxt]
                if not all(c.startswith(cycle[0] + ".") or c == cycle[0] or
                           cycle[0].startswith(c) for c in cycle):
                    cycles.append(cycle)
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert cycles == []


@pytest.mark.parametrize("pkg", ["ninelives.engine"])
def test_lazy_exports_match_their_type_checking_block(pkg: str) -> None:
    """A lazy ``__init__`` lists each name twice (for type checkers and for
    ``__getattr__``); the two lists must agree, or a name is missing at run time."""
    import importlib

    module = importlib.import_module(pkg)
    path = Path(module.__file__ or "")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typed = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for n in ast.walk(node):
                if isinstance(n, ast.ImportFrom):
                    typed.update(a.asname or a.name for a in n.names)
    assert typed == set(module._LAZY)  # type: ignore[attr-defined]
    for name in sorted(typed):
        assert getattr(module, name) is not None
