"""The session's one Synapse (started on first use, stopped at the end of the session)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.matrix.synapse import Synapse


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    server = Synapse(tmp_path_factory.mktemp("synapse"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
