"""The control API of the Telegram stand-in: tests set up the world and act as users."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from typing import Literal

from tests.fakes.telegram_core import TelegramCore
from tests.fakes.telegram_entities import Entity, detect_entities
from tests.fakes.telegram_models import (
    JSON,
    REACTION_EMOJI,
    FakeBot,
    FakeChat,
    FakeMessage,
    FakeUser,
    guess_mime,
    merge_entities,
)


class TelegramUsers(TelegramCore):
    """World setup and user actions; bots learn of them through updates."""

    def add_bot(
        self,
        username: str = "parley_bot",
        first_name: str = "Parley",
        *,
        privacy_mode: bool = False,
        token: str | None = None,
    ) -> FakeBot:
        """A bot. ``privacy_mode`` (Telegram's default, off here) hides most group messages."""
        bot_id = next(self._bot_ids)
        if token is None:
            token = f"{bot_id}:AA{secrets.token_urlsafe(24)}"
        else:
            bot_id = int(token.split(":", 1)[0])
        user = FakeUser(bot_id, first_name, username=username, is_bot=True, language_code=None)
        bot = FakeBot(token=token, user=user, privacy_mode=privacy_mode)
        self.bots[token] = bot
        self.users[bot_id] = user
        return bot

    def add_user(
        self,
        first_name: str,
        *,
        username: str | None = None,
        last_name: str | None = None,
        language_code: str | None = "en",
    ) -> FakeUser:
        user = FakeUser(next(self._user_ids), first_name, username, last_name, language_code)
        self.users[user.id] = user
        return user

    def set_profile_photo(self, user: FakeUser, image: bytes) -> None:
        """``user`` sets a new profile photo (it becomes the first of getUserProfilePhotos)."""
        self.profile_photos.setdefault(user.id, []).insert(0, self._store_photo(image))
        self._notify()

    def add_chat(
        self,
        type: Literal["group", "supergroup"] = "supergroup",
        title: str = "Test chat",
        *,
        members: Iterable[FakeUser] = (),
        bots: Iterable[FakeBot] = (),
        username: str | None = None,
        bot_status: str = "administrator",
    ) -> FakeChat:
        """A group or supergroup; the first member is its creator, bots join as ``bot_status``
        (administrator by default: Telegram sends message_reaction updates to admins only)."""
        n = next(self._group_ids)
        chat_id = -(1_000_000_000_000 + n) if type == "supergroup" else -(n % 1_000_000_000)
        chat = FakeChat(chat_id, type, title=title, username=username)
        for i, user in enumerate(members):
            chat.members[user.id] = "creator" if i == 0 else "member"
        for bot in bots:
            chat.members[bot.id] = bot_status
        self.chats[chat_id] = chat
        return chat

    def set_member(self, chat: FakeChat, who: FakeUser | FakeBot, status: str = "member") -> None:
        """Add, promote ("administrator"), restrict, remove ("left") or ban ("kicked")."""
        user = who.user if isinstance(who, FakeBot) else who
        chat.members[user.id] = status

    def private_chat(self, user: FakeUser, bot: FakeBot | None = None) -> FakeChat:
        bot = self._one_bot(bot)
        key = (bot.id, user.id)
        chat = self.private_chats.get(key)
        if chat is None:
            chat = FakeChat(user.id, "private", user=user, bot=bot)
            chat.members = {user.id: "member", bot.id: "member"}
            self.private_chats[key] = chat
        return chat

    def user_starts_bot(self, user: FakeUser, bot: FakeBot | None = None) -> FakeMessage:
        """The user opens the bot and presses Start: "/start" in their private chat."""
        chat = self.private_chat(user, bot)
        chat.started = True
        if chat.bot is not None:
            chat.bot.blocked_by.discard(user.id)
        return self.user_sends(chat, user, "/start")

    def user_blocks_bot(self, user: FakeUser, bot: FakeBot | None = None) -> None:
        self._one_bot(bot).blocked_by.add(user.id)

    def migrate_to_supergroup(self, chat: FakeChat) -> FakeChat:
        """Upgrade a basic group: service messages in both chats, the old id then answers 400
        with ``parameters.migrate_to_chat_id``."""
        if chat.type != "group":
            raise ValueError("only basic groups migrate")
        new = FakeChat(
            -(1_000_000_000_000 + next(self._group_ids)),
            "supergroup",
            title=chat.title,
            members=dict(chat.members),
        )
        self.chats[new.id] = new
        creator = next(
            (self.users[uid] for uid, s in chat.members.items() if s == "creator"),
            next(iter(self.users.values())),
        )
        old_msg = self._new_message(chat, creator)
        old_msg.service = {"migrate_to_chat_id": new.id}
        new_msg = self._new_message(new, creator)
        new_msg.service = {"migrate_from_chat_id": chat.id}
        chat.migrated_to = new.id
        for msg in (old_msg, new_msg):
            for bot in self._bots_in(msg.chat):
                self._push(bot, "message", msg.to_api())
        self._notify()
        return new

    def user_sends(
        self,
        chat: FakeChat,
        user: FakeUser,
        text: str | None = None,
        *,
        reply_to: FakeMessage | int | None = None,
        entities: Sequence[Entity] | None = None,
        photo: bytes | None = None,
        document: bytes | None = None,
        file_name: str = "file.bin",
        mime_type: str | None = None,
        caption: str | None = None,
        extra: JSON | None = None,
    ) -> FakeMessage:
        """A user posts; Telegram adds bot_command/mention/url/hashtag entities (UTF-16), then
        every bot in the chat gets a ``message`` update (privacy mode permitting).

        ``extra``: more Message fields as the Bot API spells them (``forward_origin``,
        ``poll``, ``contact``, ...); with it, the message needs no text."""
        if chat.type != "private" and chat.members.get(user.id) in (None, "left", "kicked"):
            chat.members[user.id] = "member"
        msg = self._new_message(chat, user)
        if reply_to is not None:
            msg.reply_to = self._find(chat, reply_to)
        if photo is not None:
            msg.photo = self._store_photo(photo)
        if document is not None:
            msg.document = self._store_file(
                document, "document", file_name, mime_type or guess_mime(file_name)
            )
        given = list(entities) if entities is not None else []
        if photo is not None or document is not None:
            body = caption if caption is not None else text
            if body is not None:
                msg.caption = body
                msg.caption_entities = merge_entities(given, detect_entities(body, given))
        elif text:
            msg.text = text
            msg.entities = merge_entities(given, detect_entities(text, given))
        elif not extra:
            raise ValueError("a user message needs text, a photo or a document")
        msg.extra = dict(extra or {})
        for bot in self._bots_in(chat):
            if self._bot_sees(bot, chat, msg):
                self._push(bot, "message", msg.to_api())
        self._notify()
        return msg

    def user_edits(
        self,
        chat: FakeChat,
        message: FakeMessage | int,
        text: str,
        *,
        entities: Sequence[Entity] | None = None,
    ) -> FakeMessage:
        """The author edits their message: bots get ``edited_message`` with ``edit_date``."""
        msg = self._find(chat, message)
        given = list(entities) if entities is not None else []
        msg.history.append((msg.content, msg.entities if msg.text is not None else []))
        if msg.text is not None:
            msg.text = text
            msg.entities = merge_entities(given, detect_entities(text, given))
        else:
            msg.caption = text
            msg.caption_entities = merge_entities(given, detect_entities(text, given))
        msg.edit_date = max(self._now(), msg.date + 1)
        for bot in self._bots_in(chat):
            if self._bot_sees(bot, chat, msg):
                self._push(bot, "edited_message", msg.to_api())
        self._notify()
        return msg

    def user_deletes(self, chat: FakeChat, message: FakeMessage | int) -> None:
        """Gone for everyone; Telegram tells bots nothing."""
        self._find(chat, message).deleted = True
        self._notify()

    def user_reacts(
        self,
        chat: FakeChat,
        user: FakeUser,
        message: FakeMessage | int,
        emoji: str | Sequence[str] | None,
    ) -> FakeMessage:
        """Set the user's reactions (None or [] removes them). Bots that are admins and asked
        for ``message_reaction`` get an update with old and new reactions."""
        msg = self._find(chat, message)
        new = [emoji] if isinstance(emoji, str) else list(emoji or [])
        bad = [e for e in new if e not in REACTION_EMOJI]
        if bad:
            raise ValueError(f"Telegram does not offer these reactions: {bad}")
        old = msg.reactions.get(user.id, [])
        if new:
            msg.reactions[user.id] = new
        else:
            msg.reactions.pop(user.id, None)
        payload: JSON = {
            "chat": chat.to_api(),
            "message_id": msg.message_id,
            "user": user.to_api(),
            "date": self._now(),
            "old_reaction": [{"type": "emoji", "emoji": e} for e in old],
            "new_reaction": [{"type": "emoji", "emoji": e} for e in new],
        }
        for bot in self._bots_in(chat):
            if chat.type == "private" or chat.members.get(bot.id) in ("administrator", "creator"):
                self._push(bot, "message_reaction", payload)
        self._notify()
        return msg

    def push_raw_update(self, kind: str, payload: JSON, bot: FakeBot | None = None) -> int:
        """Queue an update exactly as given (e.g. one a client library cannot parse, as
        Telegram sends when the Bot API grows a field); returns its update_id."""
        target = self._one_bot(bot)
        self._push(target, kind, payload)
        self._notify()
        return target.next_update_id

    def user_presses_button(
        self, chat: FakeChat, user: FakeUser, message: FakeMessage | int, data: str
    ) -> str:
        """A ``callback_query`` for an inline button; returns its id."""
        msg = self._find(chat, message)
        query_id = str(next(self._ids))
        bot = next((b for b in self._bots_in(chat) if b.user is msg.sender), None)
        if bot is None:
            raise ValueError("only bot messages have inline buttons")
        payload: JSON = {
            "id": query_id,
            "from": user.to_api(),
            "chat_instance": str(chat.id),
            "message": msg.to_api(),
            "data": data,
        }
        self._push(bot, "callback_query", payload)
        return query_id
