"""The platform registry's vocabulary: what one platform package tells the core about itself.

A platform lives in its own package under ``bots/`` and exports one ``PlatformSpec``;
``bots/registry.py`` lists them, and the process entry point (``bots.cli``) hands that list to
the core (``bridge.cli.main`` -> ``wire_features`` -> the relay). The core never imports
``bots``: it only calls what a spec gives it.

Telegram, Discord and Matrix come in only through their specs; the Waku/Status rooms are still
wired by hand in ``bridge.relay`` (they predate the registry).
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bridge.model import Adapter, ChatId, NativeId, Platform, RichText, UserId

if TYPE_CHECKING:
    import aiohttp

    from bridge.commands import CommandSpec
    from bridge.config import Settings
    from bridge.outbox import Pace
    from bridge.store import Store

__all__ = ["PlatformContext", "PlatformSpec", "TextConverter"]


@dataclass(frozen=True)
class PlatformContext:
    """What the bridge gives a platform's factory when its adapter is made."""

    settings: Settings
    commands: Sequence[CommandSpec]
    """The bridge's commands, for the platform's command menu and to tell a command from
    text; a command given on the platform reaches the bridge as an inbound ``Command`` event."""
    chats: Sequence[ChatId]
    """The platform's chats in the rooms (config and ``/room join``) when the relay started."""
    public_url: str
    """The bridge's public web URL (verified NFT avatars are served under ``/avatars/``)."""
    store: Store
    """The bridge's store; a platform keeps its own records in ``kv`` under its name."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Test-only knobs from ``RelayTuning.platform_options`` (timeouts, fetch policies)."""


TextConverter = Callable[[RichText], object]
"""The platform's rendering of the neutral rich text (its wire format is its own)."""


@dataclass(frozen=True)
class PlatformSpec:
    name: Platform
    settings_model: type[Any]
    """The pydantic model of the platform's config section."""
    enabled: Callable[[Settings], bool]
    """Whether the config turns the platform on (its adapter is then started)."""
    factory: Callable[[PlatformContext], Adapter]
    parse_chat_id: Callable[[str], ChatId]
    """A chat id as written in the config (``chats = ["<platform>:<id>"]``); ValueError if not."""
    parse_user_ref: Callable[[str], UserId | None]
    """A user as people on the platform write them in commands (``@alice:example.org``)."""
    to_native_text: TextConverter
    pacing: Pace | None = None
    """Per-chat send pacing; None: the platform needs none."""
    add_cli: Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None] | None = None
    """Adds the platform's own ``parley <platform> ...`` commands."""
    probe: Callable[[Settings, aiohttp.ClientSession], Awaitable[tuple[bool, str]]] | None = None
    """``parley check``: can the bridge reach and use the platform? (ok, detail)."""
    parse_message_ref: Callable[[str], NativeId | None] | None = None
    """A message named in a command by its link or id, where commands cannot reply."""
