"""Collection-time view of the js-waku vectors, so tests can be parametrized by entry.

Tests still read the entries through the session fixture ``js_waku_vectors``; this module only
lists the entry ids (pytest needs them before fixtures exist).
"""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import VECTORS


def _load() -> dict[str, Any]:
    if not VECTORS.exists():
        return {}  # the fixture raises a clear error when a test runs
    data: dict[str, Any] = json.loads(VECTORS.read_text())
    return data


_DATA = _load()


def section(vectors: dict[str, Any], path: str) -> list[dict[str, Any]]:
    node: Any = vectors
    for key in path.split("."):
        node = node[key]
    entries: list[dict[str, Any]] = node
    return entries


def entry_id(path: str, index: int, entry: dict[str, Any]) -> str:
    if "id" in entry:
        return str(entry["id"])
    if path == "autoshard":
        return f"{entry['content_topic']}@{entry['num_shards']}"
    return f"{path}[{index}]"


def ids(path: str) -> list[str]:
    """The ids of every entry in a section ("protobuf", "status.topics", ...)."""
    if not _DATA:
        return ["vectors-missing"]
    return [entry_id(path, i, e) for i, e in enumerate(section(_DATA, path))]


def entry(vectors: dict[str, Any], path: str, wanted: str) -> dict[str, Any]:
    for i, e in enumerate(section(vectors, path)):
        if entry_id(path, i, e) == wanted:
            return e
    raise LookupError(f"no {path} vector {wanted!r}")
