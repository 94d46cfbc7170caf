"""The platforms still wired by hand in ``bridge.relay`` (they predate the registry), as the
traits the core asks of every platform. This is the one core module that knows them by name:
each entry moves into its platform package's ``PlatformSpec`` (``bots/<platform>/``) with
its factory, and this list shrinks to nothing. Platforms that come in through the registry
(``bots.registry``) are never listed here.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bridge.model import NativeId, UserId
from bridge.outbox import Pace
from bridge.platform_index import Traits

if TYPE_CHECKING:
    import aiohttp

    from bridge.config import Settings

__all__ = ["BUILTIN"]

# <@id> (or <@!id>): how Discord writes a user mention in message text.
_DISCORD_MENTION = re.compile(r"<@!?([0-9]{1,20})>")
# A Discord message link; slash commands cannot reply, so /post and /delete take one.
_DISCORD_LINK = re.compile(
    r"https://(?:(?:ptb|canary)\.)?discord(?:app)?\.com/channels/(?:[0-9]+|@me)/[0-9]+/([0-9]+)/?"
)
_SNOWFLAKE = re.compile(r"[0-9]{15,21}")


def _discord_user(text: str) -> UserId | None:
    found = _DISCORD_MENTION.fullmatch(text)
    return None if found is None else UserId(found.group(1))


def _discord_message(text: str) -> NativeId | None:
    link = _DISCORD_LINK.fullmatch(text)
    if link is not None:
        return NativeId(link.group(1))
    return NativeId(text) if _SNOWFLAKE.fullmatch(text) else None


async def _probe_telegram(settings: Settings, http: aiohttp.ClientSession) -> tuple[bool, str]:
    assert settings.telegram.token is not None
    token = settings.telegram.token.get_secret_value()
    async with http.get(f"{settings.telegram.api_base_url}{token}/getMe") as response:
        body = await response.json(content_type=None)
        if response.status != 200 or not body.get("ok"):
            return False, f"getMe answered HTTP {response.status}: {body.get('description', '')}"
    return True, f"bot @{body.get('result', {}).get('username', '?')}"


async def _probe_discord(settings: Settings, http: aiohttp.ClientSession) -> tuple[bool, str]:
    assert settings.discord.token is not None
    token = settings.discord.token.get_secret_value()
    headers = {"Authorization": f"Bot {token}"}
    async with http.get(f"{settings.discord.api_base_url}/users/@me", headers=headers) as resp:
        body = await resp.json(content_type=None)
        if resp.status != 200:
            return False, f"/users/@me answered HTTP {resp.status}"
    return True, f"bot {body.get('username', '?')} ({body.get('id', '?')})"


BUILTIN: tuple[Traits, ...] = (
    # The platforms' documented per-chat limits: Telegram 20 messages a minute in a group,
    # Discord 5 per 5 seconds per channel. Waku has no per-chat limit worth pacing for.
    Traits(
        "telegram",
        pacing=Pace(20, 60.0),
        enabled=lambda settings: settings.telegram.token is not None,
        probe=_probe_telegram,
    ),
    Traits(
        "discord",
        pacing=Pace(5, 5.0),
        parse_user_ref=_discord_user,
        parse_message_ref=_discord_message,
        enabled=lambda settings: settings.discord.token is not None,
        probe=_probe_discord,
    ),
    Traits("waku"),
)
