"""Discord's part of the config: the ``[discord]`` section and the rooms' ``discord_channels``
and ``webhooks``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr, field_validator

from bots.discord.ids import DiscordChannelId, discord_channel
from bridge.config import (
    HttpUrl,
    ListedChat,
    Problem,
    RoomKeys,
    Secret,
    Section,
    Settings,
    WsUrl,
    strip_slash,
)

__all__ = [
    "ENV_SECRETS",
    "DiscordId",
    "DiscordRoomKeys",
    "DiscordSettings",
    "WebhookSettings",
    "check",
]

ENV_SECRETS = (("PARLEY_DISCORD_TOKEN", "token"),)


def _check_snowflake(value: Any) -> Any:
    # Discord ids are 64-bit snowflakes; TOML operators write them as ints or quoted strings.
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return value


DiscordId = Annotated[int, Field(ge=0), BeforeValidator(_check_snowflake)]


class DiscordSettings(Section):
    token: Secret = None
    api_base_url: HttpUrl = "https://discord.com/api/v10"
    gateway_url: WsUrl = "wss://gateway.discord.gg/"
    admins: list[DiscordId] = Field(default_factory=list)
    application_id: DiscordId | None = None

    @field_validator("api_base_url", mode="after")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return strip_slash(value)

    @property
    def enabled(self) -> bool:
        return self.token is not None


class WebhookSettings(Section):
    channel: DiscordId
    id: DiscordId
    token: SecretStr


class DiscordRoomKeys(RoomKeys):
    discord_channels: list[DiscordId] = Field(default_factory=list)
    webhooks: list[WebhookSettings] = Field(default_factory=list)

    def platform_chats(self) -> list[ListedChat]:
        return [
            ListedChat("discord_channels", f"channel {c}", discord_channel(DiscordChannelId(c)))
            for c in self.discord_channels
        ]


def check(settings: Settings) -> list[Problem]:
    """A room's webhook posts into one of that room's channels."""
    problems: list[Problem] = []
    for index, room in enumerate(settings.rooms):
        keys = room.keys(DiscordRoomKeys)
        for hook_index, hook in enumerate(keys.webhooks):
            if hook.channel not in keys.discord_channels:
                problems.append(
                    (
                        f"rooms[{index}].webhooks[{hook_index}].channel",
                        f"channel {hook.channel} is not one of this room's discord_channels",
                    )
                )
    return problems
