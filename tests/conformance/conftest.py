"""The platforms the conformance suite runs against: one driver each.

A test marked ``@pytest.mark.needs(Feature.X)`` runs only for the adapters that declare X in
their capabilities (known from the adapter class, so the choice is made at collection: nothing
is skipped at run time).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bots.matrix.adapter import MatrixAdapter
from bridge.model import Capabilities, Feature
from tests.conformance.driver import Driver
from tests.conformance.matrix_driver import matrix_driver
from tests.matrix.synapse import Synapse

CAPABILITIES: dict[str, Capabilities] = {"matrix": MatrixAdapter.capabilities}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(feature): run only for adapters declaring it")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "driver" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("needs")
    feature: Feature = marker.args[0] if marker is not None else Feature.NONE
    names = [name for name, caps in CAPABILITIES.items() if feature in caps.features]
    metafunc.parametrize("driver", names, indirect=True)


@pytest.fixture
async def driver(request: pytest.FixtureRequest, synapse: Synapse) -> AsyncIterator[Driver]:
    if request.param == "matrix":
        async with matrix_driver(synapse) as matrix:
            yield matrix
    else:  # pragma: no cover - a name in CAPABILITIES without a driver is a mistake here
        raise AssertionError(f"no driver for {request.param}")
