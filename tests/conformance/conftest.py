"""The platforms the conformance suite runs against: one driver each."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.conformance.driver import Driver
from tests.conformance.matrix_driver import matrix_driver
from tests.matrix.synapse import Synapse

PLATFORMS = ["matrix"]


@pytest.fixture(params=PLATFORMS)
async def driver(request: pytest.FixtureRequest, synapse: Synapse) -> AsyncIterator[Driver]:
    if request.param == "matrix":
        async with matrix_driver(synapse) as matrix:
            yield matrix
    else:  # pragma: no cover - a name in PLATFORMS without a driver is a mistake here
        raise AssertionError(f"no driver for {request.param}")
