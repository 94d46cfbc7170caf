"""Telegram's part of the config: the ``[telegram]`` section and the rooms' ``telegram_chats``."""

from __future__ import annotations

from pydantic import Field

from bots.telegram.ids import TelegramChatId, telegram_chat
from bridge.config import HttpUrl, ListedChat, RoomKeys, Secret, Section

__all__ = ["ENV_SECRETS", "TelegramRoomKeys", "TelegramSettings"]

ENV_SECRETS = (("PARLEY_TELEGRAM_TOKEN", "token"),)


class TelegramSettings(Section):
    token: Secret = None
    api_base_url: HttpUrl = "https://api.telegram.org/bot"
    file_base_url: HttpUrl = "https://api.telegram.org/file/bot"
    admins: list[int] = Field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return self.token is not None


class TelegramRoomKeys(RoomKeys):
    telegram_chats: list[int] = Field(default_factory=list)

    def platform_chats(self) -> list[ListedChat]:
        return [
            ListedChat("telegram_chats", f"chat {chat}", telegram_chat(TelegramChatId(chat)))
            for chat in self.telegram_chats
        ]
