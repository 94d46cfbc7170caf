"""Discord, as a bot that posts through webhooks (discord.py).

``SPEC`` is what ``bots/registry.py`` lists; the adapter itself is imported only when the
bridge makes it, so that ``parley`` starts fast whatever is configured.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bots.discord.settings import ENV_SECRETS, DiscordRoomKeys, DiscordSettings, check
from bots.discord.text import to_discord
from bots.discord.webhook_tokens import resolve_webhook_tokens
from bridge.config import Settings
from bridge.model import Adapter, ChatId, NativeId, UserId
from bridge.outbox import Pace
from bridge.platforms import PlatformContext, PlatformSpec

if TYPE_CHECKING:
    import aiohttp

__all__ = ["PACING", "SPEC", "parse_chat_id", "parse_message_ref", "parse_user_ref"]

PACING = Pace(5, 5.0)
"""Discord's per-channel limit: 5 messages every 5 seconds."""

_SNOWFLAKE = re.compile(r"^[0-9]{1,20}$")
_MENTION = re.compile(r"^<@!?([0-9]{1,20})>$")


def parse_chat_id(text: str) -> ChatId:
    if _SNOWFLAKE.match(text) is None:
        raise ValueError(f"{text!r} is not a Discord channel id (a number)")
    return ChatId(str(int(text)))


def parse_user_ref(text: str) -> UserId | None:
    """A mention as Discord clients write it (``<@123>``, ``<@!123>``)."""
    found = _MENTION.match(text)
    return UserId(found.group(1)) if found else None


# A Discord message link; slash commands cannot reply, so /post and /delete take one.
_MESSAGE_LINK = re.compile(
    r"https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/(?:[0-9]+|@me)/[0-9]+/([0-9]+)/?"
)
_MESSAGE_ID = re.compile(r"[0-9]{15,21}")


def parse_message_ref(text: str) -> NativeId | None:
    """A message as /post and /delete take it on Discord: its link or its id."""
    link = _MESSAGE_LINK.fullmatch(text)
    if link is not None:
        return NativeId(link.group(1))
    return NativeId(text) if _MESSAGE_ID.fullmatch(text) else None


def _enabled(settings: Settings) -> bool:
    return settings.section(DiscordSettings).enabled


async def _probe(settings: Settings, http: aiohttp.ClientSession) -> tuple[bool, str]:
    """Discord knows the bot token (``/users/@me``)."""
    discord = settings.section(DiscordSettings)
    assert discord.token is not None
    token = discord.token.get_secret_value()
    headers = {"Authorization": f"Bot {token}"}
    async with http.get(f"{discord.api_base_url}/users/@me", headers=headers) as resp:
        body = await resp.json(content_type=None)
        if resp.status != 200:
            return False, f"/users/@me answered HTTP {resp.status}"
    return True, f"bot {body.get('username', '?')} ({body.get('id', '?')})"


def _factory(context: PlatformContext) -> Adapter:
    from bots.discord.adapter import DiscordAdapter

    settings = context.settings
    dc = settings.section(DiscordSettings)
    assert dc.token is not None
    webhooks = {
        hook.channel: (hook.id, hook.token.get_secret_value())
        for room in settings.rooms
        for hook in room.keys(DiscordRoomKeys).webhooks
    }
    return DiscordAdapter(
        token=dc.token.get_secret_value(),
        commands=context.commands,
        channels=[int(c) for c in context.chats],
        webhooks=webhooks,
        api_base_url=dc.api_base_url,
        gateway_url=dc.gateway_url,
        admins=dc.admins,
        history_cursor=context.kv.cursor("cursor"),  # discord.cursor.<channel>
        parts=context.parts,
        known=context.origins,
        **context.options,
    )


SPEC = PlatformSpec(
    name="discord",
    settings_model=DiscordSettings,
    enabled=_enabled,
    factory=_factory,
    parse_chat_id=parse_chat_id,
    parse_user_ref=parse_user_ref,
    to_native_text=to_discord,
    pacing=PACING,
    probe=_probe,
    parse_message_ref=parse_message_ref,
    env_secrets=ENV_SECRETS,
    room_keys=DiscordRoomKeys,
    check=check,
    prepare=resolve_webhook_tokens,
)
