"""A platform reaches the store only through what its ``PlatformContext`` hands it (issue 9,
item 1): its namespaced kv and the declared views. No module under ``bots/`` holds the
``Store``, runs SQL on its connection, or imports the store modules that take a connection.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# The views and their types; every other store module takes a raw connection.
ALLOWED = frozenset(
    {
        "bridge.store.parts",
        "bridge.store.origins",
        "bridge.store.platform_kv",
        "bridge.store.status_communities",
    }
)


def store_reaches(source: str) -> list[tuple[int, str]]:
    """(line, code) of every import of a store module outside the views, and of every use of a
    store's connection or transaction."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            module = node.module
            names = [f"{module}.{alias.name}" for alias in node.names]
            if module == "bridge.store" or (
                module.startswith("bridge.store.") and module not in ALLOWED
            ):
                found.append((node.lineno, f"from {module} import {', '.join(names)}"))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("bridge.store") and alias.name not in ALLOWED:
                    found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.Attribute) and node.attr in {"db", "transaction", "write"}:
            owner = ast.unparse(node.value)
            if "store" in owner.lower():
                found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_finder_finds_what_the_platforms_did() -> None:
    # bots/matrix/direct.py, bots/waku/inbound.py, bots/waku/rooms.py, bots/matrix/events.py,
    # bots/waku/outbound.py and bots/waku/adapter.py before the context gave them views.
    old = (
        "from bridge.store import Store, kv\n"
        "from bridge.store import messages\n"
        "raw = await kv.get(self._store.db, _KEY + user_id)\n"
        "hit = await messages.lookup_native(self._state.store.db, room.ref, target)\n"
        "async with self._store.transaction() as db: pass\n"
        "await kv.write(self._store, key, clock)\n"
        "import bridge.store.messages\n"
        "from bridge.store.parts import StoredParts\n"  # a view: allowed
    )
    # (line 6 is found by its import, line 1)
    assert sorted(line for line, _ in store_reaches(old)) == [1, 2, 3, 4, 5, 7]


def test_no_platform_reaches_past_its_views() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {code}"
        for path in sorted((ROOT / "bots").rglob("*.py"))
        for line, code in store_reaches(path.read_text(encoding="utf-8"))
    ]
    assert not found, "use PlatformContext.kv or a declared view instead:\n" + "\n".join(found)
