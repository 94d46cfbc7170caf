"""The core names no platform: outside comments and docstrings, no file under bridge/ (but the
Waku transport bridge/waku/ and the Status codec bridge/status/) says "telegram", "discord" or
"matrix" in its code: identifiers, imports, string literals. A platform is known to the core
only through its spec (bridge.platforms, bridge.platform_index).

Nothing is exempt any more: the ``Platform`` type is a plain string checked where input enters,
the platforms' id types and ``ChatRef`` constructors live in their packages, and each platform's
config section and room keys come from its spec (``bridge.config.settings_model``). An entry
here must say why a file still names one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORM = re.compile(r"telegram|discord|matrix", re.IGNORECASE)
NOT_CORE = ("bridge/waku/", "bridge/status/")

ALLOWED: dict[str, str] = {}


def _docstrings(tree: ast.AST) -> set[int]:
    found: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for statement in body:
            # Module, class and function docstrings, and attribute docstrings after a field.
            value = statement.value if isinstance(statement, ast.Expr) else None
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                found.add(id(value))
    return found


def platform_names(source: str) -> list[tuple[int, str]]:
    """(line, text) of every identifier, import or string literal that names a platform."""
    tree = ast.parse(source)
    docs = _docstrings(tree)
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        texts: list[str] = []
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docs:
                texts = [node.value]
        elif isinstance(node, ast.Name):
            texts = [node.id]
        elif isinstance(node, ast.Attribute):
            texts = [node.attr]
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            texts = [node.name]
        elif isinstance(node, ast.arg | ast.keyword):
            texts = [node.arg or ""]
        elif isinstance(node, ast.alias):
            texts = [node.name, node.asname or ""]
        elif isinstance(node, ast.ImportFrom):
            texts = [node.module or ""]
        found += [(getattr(node, "lineno", 0), t[:60]) for t in texts if PLATFORM.search(t)]
    return sorted(found)


def test_the_checker_reads_code_and_skips_comments_and_docstrings() -> None:
    source = '''
"""Relays Telegram."""
import re  # Discord
from bots.discord_bot import X


def f(matrix_room: str) -> str:
    """From Matrix."""
    return "telegram:" + matrix_room


class A:
    pace: int = 1
    """Discord's limit."""
    SPEED = {"discord": 5}
'''
    assert platform_names(source) == [
        (4, "bots.discord_bot"),
        (7, "matrix_room"),
        (9, "matrix_room"),
        (9, "telegram:"),
        (15, "discord"),
    ]


def test_no_core_file_names_a_platform() -> None:
    named: dict[str, list[tuple[int, str]]] = {}
    for path in sorted((ROOT / "bridge").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(NOT_CORE) or rel in ALLOWED:
            continue
        found = platform_names(path.read_text("utf-8"))
        if found:
            named[rel] = found
    assert named == {}


def test_the_allow_list_names_only_files_that_exist() -> None:
    assert [name for name in ALLOWED if not (ROOT / name).is_file()] == []
