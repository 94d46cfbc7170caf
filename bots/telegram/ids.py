"""Telegram's chat ids as the bridge's neutral ``ChatRef``."""

from __future__ import annotations

from typing import NewType

from bridge.model import ChatId, ChatRef

__all__ = ["TelegramChatId", "telegram_chat"]

TelegramChatId = NewType("TelegramChatId", int)


def telegram_chat(chat: TelegramChatId) -> ChatRef:
    return ChatRef("telegram", ChatId(str(chat)))
