"""Discord's channel ids as the bridge's neutral ``ChatRef``."""

from __future__ import annotations

from typing import NewType

from bridge.model import ChatId, ChatRef

__all__ = ["DiscordChannelId", "discord_channel"]

DiscordChannelId = NewType("DiscordChannelId", int)


def discord_channel(channel: DiscordChannelId) -> ChatRef:
    return ChatRef("discord", ChatId(str(channel)))
