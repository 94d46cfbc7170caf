"""The shape of the code's dependencies: bots -> bridge -> crypto, and no import circles.

The graph is read from the source with ``ast``, so every import counts: those under
``if TYPE_CHECKING:`` and those inside functions too (a circle hidden behind them is still a
circle for a reader). ``from pkg import name`` is an import of the submodule ``pkg.name`` when
there is one, else of ``pkg``.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bridge", "bots", "crypto")


def _modules() -> dict[str, tuple[Path, bool]]:
    found: dict[str, tuple[Path, bool]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join(parts)] = (path, is_package)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, (path, is_package) in modules.items():
        package = name if is_package else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package
                    for _ in range(node.level - 1):
                        anchor = anchor.rpartition(".")[0]
                    base = f"{anchor}.{base}" if base else anchor
                for alias in node.names:
                    sub = f"{base}.{alias.name}"
                    targets.append(sub if sub in modules else base)
            for target in targets:
                found = known(target)
                if found is not None and found != name:
                    edges[name].add(found)
    return edges


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(edges[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                nxt = pending.pop()
                if nxt not in index:
                    index[nxt] = low[nxt] = counter
                    counter += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, sorted(edges[nxt])))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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


def test_the_cycle_finder_finds_a_hidden_circle() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(edges) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_counts_type_checking_and_function_local_imports() -> None:
    edges = _graph()
    # bridge.compose imports the features at module level; bridge.app imports it.
    assert "bridge.compose" in edges["bridge.app"]
    assert "bridge.relay" in edges["bridge.compose"]
    # A TYPE_CHECKING-only import (bridge.platforms -> bridge.outbox for Pace).
    assert "bridge.outbox" in edges["bridge.platforms"]


def test_no_import_circles() -> None:
    assert _cycles(_graph()) == []


def test_the_core_never_imports_bots() -> None:
    edges = _graph()
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in edges.items()
        if not name.startswith("bots")
        for target in targets
        if target == "bots" or target.startswith("bots.")
    )
    assert wrong == []


def test_crypto_imports_neither_bridge_nor_bots() -> None:
    edges = _graph()
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in edges.items()
        if name.split(".")[0] == "crypto"
        for target in targets
        if target.split(".")[0] != "crypto"
    )
    assert wrong == []


def test_features_never_import_the_composition_root() -> None:
    edges = _graph()
    wrong = sorted(
        f"{name} -> {target}"
        for name, targets in edges.items()
        if name not in ("bridge.app", "bridge.compose", "bridge.cli")
        for target in targets
        if target in ("bridge.app", "bridge.compose")
    )
    assert wrong == []
