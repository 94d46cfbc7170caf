"""The platform registry's vocabulary: what one platform package tells the core about itself.

A platform lives in its own package under ``bots/`` and exports one ``PlatformSpec``;
``bots/registry.py`` lists them, and the process entry point (``bots.cli``) hands that list to
the core (``bridge.cli.main`` -> ``wire_features`` -> the relay). The core never imports
``bots``: it only calls what a spec gives it.

Every platform, the Status/Waku rooms included, comes in only through its spec.
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
    from bridge.config import Problem, RawHook, RoomKeys, Settings
    from bridge.metrics import Metrics
    from bridge.outbox import Pace
    from bridge.store.origins import StoredOrigins
    from bridge.store.parts import StoredParts
    from bridge.store.platform_kv import PlatformKv
    from bridge.store.status_communities import StoredCommunities
    from bridge.waku.node import WakuNode

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
    kv: PlatformKv
    """The platform's own durable key-value records, under its name (``<platform>.<key>``
    rows of the store's ``kv`` table). The store itself is not handed out: what the router
    owns is reached only through the read-only or platform-bound views below."""
    parts: StoredParts
    """How the platform's multi-message copies were laid out (its ``relay_parts`` rows)."""
    origins: StoredOrigins
    """The originals people wrote in the platform's chats, read-only (catch-up compares them
    with a chat's history; an edit's or delete's target has its author)."""
    community_records: StoredCommunities
    """The Status communities' rows, for the Waku transport's ``Communities`` that a platform
    carried over ``node`` runs (``bridge/waku/community.py``)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Test-only knobs from ``RelayTuning.platform_options`` (timeouts, fetch policies)."""
    node: WakuNode | None = None
    """The bridge's running Waku node (the transport is core), for a platform carried over it."""
    identity_key: bytes = field(default=b"", repr=False)
    """The bridge's signing key, for a platform whose messages the bridge signs itself."""
    metrics: Metrics | None = None
    """The bridge's Prometheus series, for a platform that reports its own counters."""


TextConverter = Callable[[RichText], object]
"""The platform's rendering of the neutral rich text (its wire format is its own)."""


@dataclass(frozen=True)
class PlatformSpec:
    name: Platform
    settings_model: type[Any]
    """The pydantic model (a ``bridge.config.Section``) of the platform's config section,
    ``[<name>]``; code reads it with ``settings.section(settings_model)``."""
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
    component: str | None = None
    """Its component's name in ``/health`` and the logs; None: the platform's name."""
    env_secrets: tuple[tuple[str, str], ...] = ()
    """Environment shortcuts for the section's secrets: (variable, key), e.g.
    ``("PARLEY_<NAME>_TOKEN", "token")`` (``PARLEY_<NAME>__<KEY>`` works for every key)."""
    room_keys: type[RoomKeys] | None = None
    """The platform's own keys in ``[[rooms]]`` (read with ``room.keys(room_keys)``)."""
    check: Callable[[Settings], Sequence[Problem]] | None = None
    """Config rules the section's model cannot check alone (across sections or rooms):
    (dotted key path, problem) pairs, reported with every other config problem."""
    prepare: RawHook | None = None
    """Fills the raw config before validation (secrets from files or per-item variables)."""
