"""Bot API methods of the Telegram stand-in for updates and text messages."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from tests.fakes.telegram_core import TelegramCore
from tests.fakes.telegram_models import (
    CAPTION_LIMIT,
    DEFAULT_UPDATES,
    JSON,
    REACTION_EMOJI,
    TEXT_LIMIT,
    ApiError,
    FakeBot,
    FakeChat,
    FakeMessage,
    Params,
    bad_request,
)


class TelegramMessagesApi(TelegramCore):
    """getMe, webhooks, getUpdates; send, edit, delete and react to messages."""

    async def _true(self, bot: FakeBot, params: Params, request: web.Request) -> bool:
        return True

    async def _get_me(self, bot: FakeBot, params: Params, request: web.Request) -> JSON:
        return {
            **bot.user.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": not bot.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _delete_webhook(self, bot: FakeBot, params: Params, request: web.Request) -> bool:
        bot.webhook_url = ""
        if params.get_bool("drop_pending_updates"):
            bot.updates.clear()
        return True

    async def _set_webhook(self, bot: FakeBot, params: Params, request: web.Request) -> bool:
        bot.webhook_url = params.get_str("url") or ""
        return True

    async def _get_webhook_info(self, bot: FakeBot, params: Params, request: web.Request) -> JSON:
        return {
            "url": bot.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }

    async def _get_updates(self, bot: FakeBot, params: Params, request: web.Request) -> Any:
        if bot.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        current = bot.poll_task
        if current is not None and not current.done():
            old = bot.poll_request
            transport = old.transport if old is not None else None
            if transport is not None and not transport.is_closing():
                raise ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only "
                    "one bot instance is running",
                )
            current.cancel()  # its client is gone
        offset = params.get_int("offset") or 0
        limit = min(max(params.get_int("limit") or 100, 1), 100)
        timeout = max(params.get_float("timeout") or 0.0, 0.0)
        allowed = params.get_json("allowed_updates")
        if isinstance(allowed, list):
            bot.allowed_updates = frozenset(allowed) if allowed else None
        if offset > 0:
            bot.updates = [u for u in bot.updates if u["update_id"] >= offset]
        elif offset < 0:
            bot.updates = bot.updates[offset:]
        bot.poll_task = asyncio.current_task()
        bot.poll_request = request
        try:
            async with asyncio.timeout(timeout):
                while True:
                    ready = self._deliverable(bot, limit)
                    if ready or timeout <= 0:
                        return ready
                    bot.event().clear()
                    await bot.event().wait()
        except TimeoutError:
            return []
        finally:
            if bot.poll_task is asyncio.current_task():
                bot.poll_task = None
                bot.poll_request = None

    def _deliverable(self, bot: FakeBot, limit: int) -> list[JSON]:
        allowed = bot.allowed_updates or DEFAULT_UPDATES
        kept = [u for u in bot.updates if next(k for k in u if k != "update_id") in allowed]
        bot.updates = kept
        return kept[:limit]

    async def _send_message(self, bot: FakeBot, params: Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params)
        text, entities = self._formatted(params, "text", "entities")
        if not text or not text.strip():
            raise bad_request("message text is empty")
        if len(text) > TEXT_LIMIT:
            raise bad_request("message is too long")
        msg = self._bot_message(bot, chat, params)
        msg.text, msg.entities = text, entities
        preview = params.get_json("link_preview_options")
        if preview is None and params.has("disable_web_page_preview"):
            preview = {"is_disabled": params.get_bool("disable_web_page_preview")}
        if isinstance(preview, dict):
            msg.link_preview_options = preview
        self._notify()
        return msg.to_api()

    async def _edit_message_text(self, bot: FakeBot, params: Params, request: web.Request) -> JSON:
        if params.has("inline_message_id"):
            raise bad_request("inline messages are not supported by this fake")
        chat = self._chat(bot, params)
        msg = self._message(chat, params, "message to edit not found")
        if msg.sender is not bot.user:
            raise bad_request("message can't be edited")
        if msg.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._formatted(params, "text", "entities")
        if not text or not text.strip():
            raise bad_request("message text is empty")
        if len(text) > TEXT_LIMIT:
            raise bad_request("MESSAGE_TOO_LONG")
        preview = params.get_json("link_preview_options")
        markup = params.get_json("reply_markup")
        if text == msg.text and entities == msg.entities and markup == msg.reply_markup:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg.history.append((msg.text, msg.entities))
        msg.text, msg.entities = text, entities
        if isinstance(preview, dict):
            msg.link_preview_options = preview
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg.reply_markup = markup
        msg.edit_date = max(self._now(), msg.date + 1)
        self._notify()
        return msg.to_api()

    async def _edit_message_caption(
        self, bot: FakeBot, params: Params, request: web.Request
    ) -> JSON:
        chat = self._chat(bot, params)
        msg = self._message(chat, params, "message to edit not found")
        if msg.sender is not bot.user or msg.text is not None:
            raise bad_request("message can't be edited")
        caption, entities = self._formatted(params, "caption", "caption_entities")
        if caption is not None and len(caption) > CAPTION_LIMIT:
            raise bad_request("message caption is too long")
        if caption == msg.caption and entities == msg.caption_entities:
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        msg.history.append((msg.caption, msg.caption_entities))
        msg.caption, msg.caption_entities = caption, entities
        msg.edit_date = max(self._now(), msg.date + 1)
        self._notify()
        return msg.to_api()

    def _delete(self, bot: FakeBot, chat: FakeChat, msg: FakeMessage) -> None:
        if (
            msg.sender is not bot.user
            and chat.type != "private"
            and chat.members.get(bot.id) not in ("administrator", "creator")
        ):
            raise bad_request("message can't be deleted")
        msg.deleted = True

    async def _delete_message(self, bot: FakeBot, params: Params, request: web.Request) -> bool:
        chat = self._chat(bot, params, sending=False)
        self._delete(bot, chat, self._message(chat, params, "message to delete not found"))
        self._notify()
        return True

    async def _delete_messages(self, bot: FakeBot, params: Params, request: web.Request) -> bool:
        chat = self._chat(bot, params, sending=False)
        ids = params.get_json("message_ids")
        if not isinstance(ids, list) or not ids:
            raise bad_request("message identifiers are not specified")
        for mid in ids:
            msg = chat.messages.get(int(mid))
            if msg is not None and not msg.deleted:
                with contextlib.suppress(ApiError):
                    self._delete(bot, chat, msg)
        self._notify()
        return True

    async def _set_message_reaction(
        self, bot: FakeBot, params: Params, request: web.Request
    ) -> bool:
        chat = self._chat(bot, params, sending=False)
        msg = self._message(chat, params, "message to react not found")
        reaction = params.get_json("reaction") or []
        if not isinstance(reaction, list):
            raise bad_request("REACTION_INVALID")
        emoji: list[str] = []
        for item in reaction:
            if not isinstance(item, dict) or item.get("type") != "emoji":
                raise bad_request("REACTION_INVALID")
            if item.get("emoji") not in REACTION_EMOJI:
                raise bad_request("REACTION_INVALID")
            emoji.append(str(item["emoji"]))
        if len(emoji) > 1:
            raise bad_request("REACTIONS_TOO_MANY")
        if emoji:
            msg.reactions[bot.id] = emoji
        else:
            msg.reactions.pop(bot.id, None)
        self._notify()
        return True
