"""The layers of docs/CONTRIBUTING.md are true in the imports: import-linter's contracts (setup.cfg) and no cycles.

Both checks read every ``import`` statement of the package, including those inside functions (a lazy import is
still a dependency), with grimp, the graph library import-linter is built on.
"""

from __future__ import annotations

import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_import_linter_contracts_hold(capsys: pytest.CaptureFixture[str]) -> None:
    """`lint-imports` with setup.cfg's contracts: the layer order, report and task layers never import pipeline."""
    from importlinter.cli import lint_imports

    code = lint_imports(config_filename=str(ROOT / "setup.cfg"), no_cache=True)
    out = capsys.readouterr().out
    broken = out[out.find("Broken contracts"):] if "Broken contracts" in out else out[-3000:]
    assert code == 0, f"import-linter contracts broken:\n{broken}"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    adjacency = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in sorted(graph.modules)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in adjacency:
        if root in index:
            continue
        work = [(root, iter(adjacency[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(adjacency[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_between_modules() -> None:
    """No two modules of irrobust (package ``__init__`` files included) import each other, directly or through
    others."""
    graph = grimp.build_graph("irrobust", include_external_packages=False)
    cycles = _cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_cycle_finder_finds_a_planted_cycle() -> None:
    """The cycle check itself can fail: a graph with a -> b -> c -> a has one cycle, a DAG none."""
    graph = grimp.ImportGraph()
    for importer, imported in (("p.a", "p.b"), ("p.b", "p.c"), ("p.c", "p.a"), ("p.c", "p.d")):
        graph.add_import(importer=importer, imported=imported)
    assert _cycles(graph) == [["p.a", "p.b", "p.c"]]
    graph.remove_import(importer="p.c", imported="p.a")
    assert _cycles(graph) == []


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
