"""Imports run one way: every module under src/oncoguide is read with ast (never imported) and each
`oncoguide.*` import it makes, at module level or inside a function, is checked against the layer map
below. The test fails on an import against the layer order and on an import cycle, between packages
or between modules."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).parent.parent / "src"

# The layers, top to bottom. A module may import its own unit (package or top-level module) and any unit
# of a LOWER layer, never one of its own layer or above, so units sharing a layer stay independent.
# Placed by what the code uses: cli starts the web server (serve), so it sits above web; site (user data,
# its Site object answering with library excerpts) and fhir (export, patient records, CDS cards) both
# use kb, engine and algorithm but not each other; kb is the engine's public API, which the package root
# (`oncoguide/__init__.py`, "__init__" here) re-exports, one layer above it; library (ingest, search, excerpts) owns
# its tables (library/tables.py) and uses only pack-level data, as algorithm and evidence do.
LAYERS: tuple[frozenset[str], ...] = (
    frozenset({"__main__"}),
    frozenset({"cli"}),
    frozenset({"web"}),
    frozenset({"site", "fhir"}),
    frozenset({"__init__"}),
    frozenset({"kb"}),
    frozenset({"engine"}),
    frozenset({"algorithm", "library"}),
    frozenset({"pack"}),
    # statistics are computed while the pack is built and checked (typed numbers agree with the data), so the
    # evidence computation and its study-data types sit below the pack
    frozenset({"evidence"}),
    frozenset({"settings", "errors", "plain"}),
)
LAYER_OF = {unit: depth for depth, units in enumerate(LAYERS) for unit in units}

# Imports against the layer order that are tolerated for now: none. The set stays so that a temporary
# exception must be written down here; it may only shrink (an entry that no longer occurs fails the test).
KNOWN_VIOLATIONS: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module names, e.g. oncoguide.site.members
    imported: str
    line: int


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its __init__.py)."""
    found = {}
    for path in sorted((SRC / "oncoguide").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def unit(module: str) -> str:
    """The package or top-level module a module belongs to: oncoguide.site.db -> site."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _resolve(name: str, known: dict[str, Path]) -> str:
    """The module a dotted name lands in: a submodule if it is one, else the longest known prefix."""
    while name not in known:
        name = name.rpartition(".")[0]
    return name


def imports(known: dict[str, Path]) -> list[Import]:
    """Every oncoguide import of every module, wherever in the module it is written."""
    found = []
    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: counted from the importing module's package
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                names = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                if name.split(".")[0] == "oncoguide":
                    target = _resolve(name, known)
                    if target != module:
                        found.append(Import(module, target, node.lineno))
    return found


def upward(found: list[Import]) -> set[str]:
    """Imports of another unit on the same layer or a higher one."""
    return {
        f"upward: {i.importer} -> {i.imported}"
        for i in found
        if unit(i.importer) != unit(i.imported) and LAYER_OF[unit(i.imported)] <= LAYER_OF[unit(i.importer)]
    }


def cycles(edges: set[tuple[str, str]]) -> set[str]:
    """Each strongly connected component of more than one node, as a cycle through it that starts at its
    smallest name (Tarjan's algorithm, iteratively)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return {"cycle: " + " -> ".join(_path_through(c, graph)) for c in components}


def _path_through(component: set[str], graph: dict[str, set[str]]) -> list[str]:
    """A closed walk from the component's smallest node back to it (shortest, by breadth-first search)."""
    start = min(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {sorted(component)}")


def violations() -> set[str]:
    found = imports(modules())
    by_module = {(i.importer, i.imported) for i in found}
    by_unit = {(unit(a), unit(b)) for a, b in by_module if unit(a) != unit(b)}
    return upward(found) | cycles(by_module) | cycles(by_unit)


def test_every_package_has_a_layer():
    units = {unit(m) for m in modules()}
    assert units - LAYER_OF.keys() == set(), "place the new package or module in LAYERS"
    assert LAYER_OF.keys() - units == set(), "LAYERS names a package that no longer exists"


def test_imports_run_down_the_layers_without_cycles():
    found = violations()
    where = {f"upward: {i.importer} -> {i.imported}": f"{i.importer}:{i.line}" for i in imports(modules())}
    new = sorted(found - KNOWN_VIOLATIONS)
    assert not new, "imports against the layer order or in a cycle:\n" + "\n".join(
        f"{v}  ({where[v]})" if v in where else v for v in new
    )


def test_known_violations_still_occur():
    gone = sorted(KNOWN_VIOLATIONS - violations())
    assert not gone, "fixed: remove these from KNOWN_VIOLATIONS:\n" + "\n".join(gone)


def test_the_checker_sees_function_level_imports_and_cycles():
    # a function-level import of a higher layer is as much a dependency as one at the top of the file
    found = imports(modules())
    assert any(i.importer == "oncoguide.site.review" and i.imported == "oncoguide.kb" for i in found)
    assert cycles({("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")}) == {"cycle: a -> b -> c -> a"}
    assert cycles({("a", "b"), ("b", "c")}) == set()
