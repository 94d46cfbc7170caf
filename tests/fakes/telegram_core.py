"""State of the Telegram stand-in: bots, users, chats, files; who sees what; resolving a
request's chat, message, text and reply target.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from tests.fakes.telegram_entities import (
    Entity,
    EntityParseError,
    check_entities,
    detect_entities,
    parse,
    utf16_len,
)
from tests.fakes.telegram_models import (
    JSON,
    PHOTO_LIMIT,
    FakeBot,
    FakeChat,
    FakeFile,
    FakeMessage,
    FakeUser,
    Fault,
    Params,
    RecordedRequest,
    bad_request,
    forbidden,
    image_size,
    merge_entities,
    thumbnail,
)

Handler = Callable[[FakeBot, Params, web.Request], Awaitable[Any]]


class TelegramCore:
    """The world the Bot API methods and the control API share."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.bots: dict[str, FakeBot] = {}
        self.users: dict[int, FakeUser] = {}
        self.chats: dict[int, FakeChat] = {}
        self.private_chats: dict[tuple[int, int], FakeChat] = {}
        self.files: dict[str, FakeFile] = {}
        # user id -> profile photos, newest first; each one photo in its sizes (smallest first)
        self.profile_photos: dict[int, list[list[FakeFile]]] = {}
        self.requests: list[RecordedRequest] = []
        self.faults: dict[str, list[Fault]] = {}
        self.delays: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._user_ids = itertools.count(10_000_001)
        self._bot_ids = itertools.count(7_000_000_001)
        self._group_ids = itertools.count(4_000_000_001)
        self._changed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        # The Bot API methods by lower-case name (FakeTelegram fills it in).
        self._handlers: dict[str, Handler] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url(...)``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url(...)``."""
        return f"{self.url}/file/bot"

    def _now(self) -> int:
        return int(time.time())

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = asyncio.Event()

    def _one_bot(self, bot: FakeBot | None) -> FakeBot:
        if bot is not None:
            return bot
        if len(self.bots) != 1:
            raise ValueError("several bots: say which")
        return next(iter(self.bots.values()))

    def _all_chats(self) -> list[FakeChat]:
        return [*self.chats.values(), *self.private_chats.values()]

    def _chats_for(self, chat: FakeChat | int, bot: FakeBot | None) -> list[FakeChat]:
        if isinstance(chat, FakeChat):
            return [chat]
        if chat in self.chats:
            return [self.chats[chat]]
        return [
            c
            for (bot_id, user_id), c in self.private_chats.items()
            if user_id == chat and (bot is None or bot_id == bot.id)
        ]

    def _bots_in(self, chat: FakeChat) -> list[FakeBot]:
        if chat.type == "private":
            return [chat.bot] if chat.bot is not None else []
        return [
            b
            for b in self.bots.values()
            if chat.members.get(b.id) in ("creator", "administrator", "member", "restricted")
        ]

    def _bot_sees(self, bot: FakeBot, chat: FakeChat, msg: FakeMessage) -> bool:
        if msg.sender.is_bot:
            return False  # bots never see bot messages, their own or others'
        if chat.type == "private":
            return msg.sender.id not in bot.blocked_by
        if not bot.privacy_mode or chat.members.get(bot.id) in ("administrator", "creator"):
            return True
        content = msg.content
        if content.startswith("/"):
            return True
        if bot.username and f"@{bot.username}".lower() in content.lower():
            return True
        return msg.reply_to is not None and msg.reply_to.sender is bot.user

    def _push(self, bot: FakeBot, kind: str, payload: JSON) -> None:
        bot.next_update_id += 1
        bot.updates.append({"update_id": bot.next_update_id, kind: payload})
        bot.event().set()

    def _new_message(self, chat: FakeChat, sender: FakeUser) -> FakeMessage:
        msg = FakeMessage(chat, chat.next_message_id, sender, self._now())
        chat.next_message_id += 1
        chat.messages[msg.message_id] = msg
        return msg

    def _find(self, chat: FakeChat, message: FakeMessage | int) -> FakeMessage:
        mid = message.message_id if isinstance(message, FakeMessage) else message
        msg = chat.messages.get(mid)
        if msg is None or msg.deleted:
            raise KeyError(f"no message {mid} in chat {chat.id}")
        return msg

    def _file_id(self, kind: str) -> tuple[str, str]:
        n = next(self._ids)
        return f"{kind[:2].upper()}{n:08d}{secrets.token_hex(8)}", f"u{n:08d}"

    def _store_file(
        self, data: bytes, kind: str, file_name: str | None, mime_type: str | None, ext: str = ""
    ) -> FakeFile:
        file_id, unique = self._file_id(kind)
        if not ext and file_name and "." in file_name:
            ext = file_name.rsplit(".", 1)[1]
        folder = "photos" if kind == "photo" else "documents"
        path = f"{folder}/file_{unique}{'.' + ext if ext else ''}"
        stored = FakeFile(file_id, unique, data, path, kind, file_name, mime_type)
        self.files[file_id] = stored
        return stored

    def _store_photo(self, data: bytes) -> list[FakeFile]:
        width, height = image_size(data)
        if len(data) > PHOTO_LIMIT:
            raise bad_request("PHOTO_SAVE_FILE_INVALID")
        if width + height > 10_000:
            raise bad_request("PHOTO_INVALID_DIMENSIONS")
        sizes: list[FakeFile] = []
        if max(width, height) > 320:
            small, w, h = thumbnail(data, 320)
            thumb = self._store_file(small, "photo", None, "image/jpeg", "jpg")
            thumb.width, thumb.height = w, h
            sizes.append(thumb)
        ext = "jpg"
        if data.startswith(b"\x89PNG"):
            ext = "png"
        full = self._store_file(data, "photo", None, None, ext)
        full.width, full.height = width, height
        sizes.append(full)
        return sizes

    def _chat(self, bot: FakeBot, params: Params, *, sending: bool = True) -> FakeChat:
        ref = params.chat_id()
        if isinstance(ref, str):
            found = next(
                (c for c in self.chats.values() if c.username and f"@{c.username}" == ref), None
            )
            if found is None:
                raise bad_request("chat not found")
            chat = found
        elif ref > 0:
            user = self.users.get(ref)
            if user is None or user.is_bot:
                raise bad_request("chat not found")
            private = self.private_chats.get((bot.id, ref))
            if private is None or not private.started:
                if sending:
                    raise forbidden("bot can't initiate conversation with a user")
                raise bad_request("chat not found")
            if ref in bot.blocked_by and sending:
                raise forbidden("bot was blocked by the user")
            return private
        else:
            chat_or_none = self.chats.get(ref)
            if chat_or_none is None:
                raise bad_request("chat not found")
            chat = chat_or_none
        if chat.migrated_to is not None:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        status = chat.members.get(bot.id)
        kind = "group chat" if chat.type == "group" else f"{chat.type} chat"
        if status == "kicked":
            raise forbidden(f"bot was kicked from the {kind}")
        if status not in ("creator", "administrator", "member", "restricted"):
            raise forbidden(f"bot is not a member of the {kind}")
        return chat

    def _message(self, chat: FakeChat, params: Params, missing: str) -> FakeMessage:
        mid = params.get_int("message_id")
        if mid is None:
            raise bad_request("message identifier is not specified")
        msg = chat.messages.get(mid)
        if msg is None or msg.deleted:
            raise bad_request(missing)
        return msg

    def _formatted(
        self, params: Params, text_key: str, entities_key: str
    ) -> tuple[str | None, list[Entity]]:
        raw = params.get_str(text_key)
        if raw is None:
            return None, []
        given = params.get_json(entities_key)
        try:
            if given is not None:
                if not isinstance(given, list):
                    raise EntityParseError("entities must be an array")
                text, entities = raw, check_entities(raw, given)
            else:
                text, entities = parse(raw, params.get_str("parse_mode"))
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from exc
        except ValueError as exc:
            raise bad_request("unsupported parse_mode") from exc
        entities = [self._text_mention(e) for e in entities]
        return text, merge_entities(entities, detect_entities(text, entities))

    def _text_mention(self, entity: Entity) -> Entity:
        url = str(entity.get("url", ""))
        if entity["type"] == "text_link" and url.startswith("tg://user?id="):
            user = self.users.get(int(url.split("=", 1)[1] or 0))
            if user is not None:
                return {
                    "type": "text_mention",
                    "offset": entity["offset"],
                    "length": entity["length"],
                    "user": user.to_api(),
                }
        return entity

    def _reply_target(self, chat: FakeChat, params: Params) -> tuple[FakeMessage | None, JSON]:
        reply = params.get_json("reply_parameters")
        if reply is None and params.has("reply_to_message_id"):
            reply = {
                "message_id": params.get_int("reply_to_message_id"),
                "allow_sending_without_reply": params.get_bool("allow_sending_without_reply"),
            }
        if reply is None:
            return None, {}
        if not isinstance(reply, dict) or "message_id" not in reply:
            raise bad_request("invalid reply parameters specified")
        other = reply.get("chat_id")
        if other is not None and str(other) != str(chat.id):
            raise bad_request("replies to other chats are not supported by this fake")
        target = chat.messages.get(int(reply["message_id"]))
        if target is None or target.deleted:
            if reply.get("allow_sending_without_reply"):
                return None, {}
            raise bad_request("message to be replied not found")
        quote = reply.get("quote")
        if quote:
            position = target.content.find(quote)
            if position < 0:
                raise bad_request("QUOTE_TEXT_INVALID")
            return target, {
                "text": quote,
                "position": utf16_len(target.content[:position]),
                "is_manual": True,
            }
        return target, {}

    def _bot_message(self, bot: FakeBot, chat: FakeChat, params: Params) -> FakeMessage:
        target, quote = self._reply_target(chat, params)
        if chat.type != "private" and chat.members.get(bot.id) == "restricted":
            raise bad_request("not enough rights to send text messages to the chat")
        msg = self._new_message(chat, bot.user)
        msg.reply_to = target
        msg.quote = quote or None
        markup = params.get_json("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg.reply_markup = markup
        return msg
