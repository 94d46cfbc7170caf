"""Telegram, as a bot polling the Bot API (python-telegram-bot).

``SPEC`` is what ``bots/registry.py`` lists; the adapter itself is imported only when the
bridge makes it, so that ``parley`` starts fast whatever is configured.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bots.telegram.settings import ENV_SECRETS, TelegramRoomKeys, TelegramSettings
from bots.telegram.text import to_telegram
from bridge.config import Settings
from bridge.model import Adapter, ChatId, UserId
from bridge.outbox import Pace
from bridge.platforms import PlatformContext, PlatformSpec

if TYPE_CHECKING:
    import aiohttp

__all__ = ["PACING", "SPEC", "parse_chat_id", "parse_user_ref"]

PACING = Pace(20, 60.0)
"""Telegram's documented limit for bots: 20 messages a minute in one group."""

_CHAT_ID = re.compile(r"^-?[0-9]{1,20}$")
# Telegram's own link to a person (people are mentioned by @username, which a bot cannot
# turn into an id; clients and bots write this link when they know the id).
_USER_LINK = re.compile(r"^tg://user\?id=([0-9]{1,20})$")


def parse_chat_id(text: str) -> ChatId:
    if _CHAT_ID.match(text) is None:
        raise ValueError(f"{text!r} is not a Telegram chat id (e.g. -1001234567890)")
    return ChatId(str(int(text)))


def parse_user_ref(text: str) -> UserId | None:
    found = _USER_LINK.match(text)
    return UserId(found.group(1)) if found else None


def _enabled(settings: Settings) -> bool:
    return settings.section(TelegramSettings).enabled


async def _probe(settings: Settings, http: aiohttp.ClientSession) -> tuple[bool, str]:
    """The Bot API knows the token (getMe)."""
    telegram = settings.section(TelegramSettings)
    assert telegram.token is not None
    token = telegram.token.get_secret_value()
    async with http.get(f"{telegram.api_base_url}{token}/getMe") as response:
        body = await response.json(content_type=None)
        if response.status != 200 or not body.get("ok"):
            return False, f"getMe answered HTTP {response.status}: {body.get('description', '')}"
    return True, f"bot @{body.get('result', {}).get('username', '?')}"


def _factory(context: PlatformContext) -> Adapter:
    from bots.telegram.adapter import TelegramAdapter

    tg = context.settings.section(TelegramSettings)
    assert tg.token is not None
    return TelegramAdapter(
        token=tg.token.get_secret_value(),
        commands=context.commands,
        api_base_url=tg.api_base_url,
        file_base_url=tg.file_base_url,
        admins=tg.admins,
        parts=context.parts,
        **context.options,
    )


SPEC = PlatformSpec(
    name="telegram",
    settings_model=TelegramSettings,
    enabled=_enabled,
    factory=_factory,
    parse_chat_id=parse_chat_id,
    parse_user_ref=parse_user_ref,
    to_native_text=to_telegram,
    pacing=PACING,
    probe=_probe,
    env_secrets=ENV_SECRETS,
    room_keys=TelegramRoomKeys,
)
