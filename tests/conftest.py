"""Shared pytest fixtures for Parley's tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# anvil and w3 fixtures for every test that needs a chain
pytest_plugins = ["tests.chain.fixtures", "tests.matrix.fixtures"]

REPO = Path(__file__).resolve().parent.parent
# Produced by js-waku itself (tests/crypto/vectors/README.md says how and with which versions).
VECTORS = REPO / "tests" / "crypto" / "vectors" / "js-waku-vectors.json"


@pytest.fixture(scope="session")
def js_waku_vectors() -> dict[str, Any]:
    if not VECTORS.exists():
        raise RuntimeError(f"the js-waku vectors are missing: expected {VECTORS}")
    data: dict[str, Any] = json.loads(VECTORS.read_text())
    return data
