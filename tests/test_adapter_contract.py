"""The adapter contract is declared (issue 9, item 1): the core calls what ``Adapter`` declares
and never probes an adapter with ``getattr``/``hasattr``; optional abilities have safe defaults,
and the ones the core must know of in advance are capabilities the adapters declare.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import pytest

from bots.discord.adapter import DiscordAdapter
from bots.matrix.adapter import MatrixAdapter
from bots.telegram.adapter import TelegramAdapter
from bots.telegram.ids import TelegramChatId, telegram_chat
from bots.waku.adapter import WakuAdapter
from bridge.model import (
    Adapter,
    Capabilities,
    Feature,
    InboundSink,
    NativeId,
    OutboundMessage,
    Platform,
    UserId,
)
from bridge.relay_notifier import RelayNotifier
from bridge.router import Router

ROOT = Path(__file__).resolve().parent.parent
PROBES = frozenset({"getattr", "hasattr"})


def adapter_probes(source: str) -> list[tuple[int, str]]:
    """(line, call) of every getattr/hasattr whose object names an adapter."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in PROBES
            and node.args
        ):
            continue
        if "adapter" in ast.unparse(node.args[0]).lower():
            found.append((node.lineno, ast.unparse(node)))
    return found


def test_the_probe_finder_finds_the_old_probes() -> None:
    # What bridge/relay.py and bridge/room_commands.py did before the contract declared it.
    old = (
        'error = getattr(adapter, "last_error", None)\n'
        'c = getattr(self._relay.adapters.get("waku"), "communities", None)\n'
        'ok = hasattr(adapter, "profile_photo")\n'
        'fine = getattr(exc, "data", None)\n'
    )
    assert [line for line, _ in adapter_probes(old)] == [1, 2, 3]


def test_the_core_never_probes_an_adapter() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{line}: {call}"
        for path in sorted((ROOT / "bridge").rglob("*.py"))
        for line, call in adapter_probes(path.read_text(encoding="utf-8"))
    ]
    assert not found, "declare the ability on bridge.model.Adapter instead:\n" + "\n".join(found)


class Bare(Adapter):
    """An adapter that implements only the abstract members."""

    platform: ClassVar[Platform] = "telegram"
    capabilities: ClassVar[Capabilities] = Capabilities(Feature.NONE, 100)

    async def start(self, sink: InboundSink) -> None:
        return None

    async def stop(self) -> None:
        return None

    def is_connected(self) -> bool:
        return True

    async def send(self, delivery: OutboundMessage) -> NativeId:
        return NativeId("1")


async def test_the_optional_abilities_default_to_absent() -> None:
    adapter = Bare()
    chat = telegram_chat(TelegramChatId(-100))
    assert adapter.last_error is None
    assert adapter.status_detail() is None
    assert adapter.chat_detail(chat) is None
    adapter.join_chat(chat)  # no-ops that do not raise
    adapter.leave_chat(chat)
    assert await adapter.send_private("7", "hi") is False
    assert await adapter.say_in_chat("-100", "hi") is False
    assert await adapter.profile_photo("7") is None


class Private(Bare):
    """Sends private messages but (wrongly) does not declare it: the core must not use it."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send_private(self, user_id: str, text: str) -> bool:
        self.sent.append((user_id, text))
        return True


@dataclass
class _RelayView:
    adapters: dict[Platform, Adapter]
    router: Router = field(default=None)  # type: ignore[assignment]  # unused by tell_user
    bridge_name: str = "Parley"


async def test_private_messages_go_only_where_declared() -> None:
    adapter = Private()
    notifier = RelayNotifier(_RelayView({"telegram": adapter}))
    assert await notifier.tell_user("telegram", UserId("7"), "hi") is False
    assert await notifier.tell_user("discord", UserId("7"), "hi") is False  # no adapter
    type(adapter).capabilities = Capabilities(Feature.PRIVATE_MESSAGES, 100)
    try:
        assert await notifier.tell_user("telegram", UserId("7"), "hi") is True
    finally:
        type(adapter).capabilities = Bare.capabilities
    assert adapter.sent == [("7", "hi")]


OVERRIDES = {Feature.PRIVATE_MESSAGES: "send_private", Feature.PROFILE_PHOTOS: "profile_photo"}


@pytest.mark.parametrize("cls", [TelegramAdapter, DiscordAdapter, MatrixAdapter, WakuAdapter])
def test_declared_abilities_are_implemented(cls: type[Adapter]) -> None:
    # A capability the adapter declares is one it overrides, and an override is declared: the
    # core trusts the flag instead of looking for the method.
    for feature, method in OVERRIDES.items():
        overridden = getattr(cls, method) is not getattr(Adapter, method)
        assert (feature in cls.capabilities) == overridden, (cls.__name__, feature)
