"""The platforms the conformance suite runs against: one driver each.

A test marked ``@pytest.mark.needs(Feature.X)`` runs only for the adapters that declare X in
their capabilities (known from the adapter class, so the choice is made at collection: nothing
is skipped at run time). ``@pytest.mark.platform_can("...")`` names an ability the adapter
contract does not declare yet; ``PLATFORM_CANNOT`` lists, per platform, what its API rules out
(each with its reason).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bots.discord.adapter import DiscordAdapter
from bots.matrix.adapter import MatrixAdapter
from bots.telegram.adapter import TelegramAdapter
from bots.waku.adapter import WakuAdapter
from bridge.model import Capabilities, Feature
from tests.conformance.discord_driver import discord_driver
from tests.conformance.driver import Driver
from tests.conformance.matrix_driver import matrix_driver
from tests.conformance.telegram_driver import telegram_driver
from tests.conformance.waku_driver import waku_driver
from tests.matrix.synapse import Synapse

# Not the adapter's choice but the platform API's: these belong in the declared contract
# (issue 9, item 1) and move there with it.
PLATFORM_CANNOT: dict[str, frozenset[str]] = {
    # The Bot API never tells a bot that a message was deleted; a bot cannot read a chat's
    # history, so a send cut short by a crash cannot be found again (and Telegram has no
    # idempotency key).
    "telegram": frozenset({"see_deletes", "send_exactly_once"}),
    # Status: a message's Waku timestamp is set by its sender, so messages arrive out of order
    # and a restart re-reads a margin before the last one handled: inbound is at least once
    # across restarts (the router drops the repeats; no per-message cursor exists to resume
    # from exactly).
    "waku": frozenset({"replay_nothing_after_restart"}),
}

# Not the platforms' limits but an adapter's documented choice, open work rather than an
# impossibility (none today: a Status member's "/name args" is a command too, see
# bots/waku/commands.py).
ADAPTER_DOES_NOT: dict[str, frozenset[str]] = {}

CAPABILITIES: dict[str, Capabilities] = {
    "matrix": MatrixAdapter.capabilities,
    "telegram": TelegramAdapter.capabilities,
    "discord": DiscordAdapter.capabilities,
    "waku": WakuAdapter.capabilities,
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs(feature): run only for adapters declaring it")
    config.addinivalue_line(
        "markers", "platform_can(ability): run only where the platform's API allows it"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "driver" not in metafunc.fixturenames:
        return
    marker = metafunc.definition.get_closest_marker("needs")
    feature: Feature = marker.args[0] if marker is not None else Feature.NONE
    can = metafunc.definition.get_closest_marker("platform_can")
    ability = str(can.args[0]) if can is not None else None
    names = [
        name
        for name, caps in CAPABILITIES.items()
        if feature in caps.features
        and ability not in PLATFORM_CANNOT.get(name, frozenset())
        and ability not in ADAPTER_DOES_NOT.get(name, frozenset())
    ]
    metafunc.parametrize("driver", names, indirect=True)


@pytest.fixture
async def driver(request: pytest.FixtureRequest) -> AsyncIterator[Driver]:
    if request.param == "matrix":
        synapse: Synapse = request.getfixturevalue("synapse")  # started once, only if asked
        async with matrix_driver(synapse) as matrix:
            yield matrix
    elif request.param == "telegram":
        async with telegram_driver() as telegram:
            yield telegram
    elif request.param == "discord":
        async with discord_driver() as discord:
            yield discord
    elif request.param == "waku":
        async with waku_driver() as waku:
            yield waku
    else:  # pragma: no cover - a name in CAPABILITIES without a driver is a mistake here
        raise AssertionError(f"no driver for {request.param}")
