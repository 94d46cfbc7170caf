"""A protocol-level stand-in for the Telegram Bot API.

The real python-telegram-bot talks to it over HTTP on 127.0.0.1::

    async with FakeTelegram() as tg:
        bot = tg.add_bot("bridge_bot")
        alice = tg.add_user("Alice", username="alice")
        group = tg.add_chat("supergroup", "Room", members=[alice], bots=[bot])
        app = (
            ApplicationBuilder().token(bot.token)
            .base_url(tg.base_url).base_file_url(tg.base_file_url).build()
        )
        ...
        tg.user_sends(group, alice, "/help")
        reply = await tg.wait_for_sent(lambda m: m.chat is group)

Tests drive users through plain methods (``user_sends``, ``user_edits``, ``user_reacts``,
``user_starts_bot`` ...), read what bots did through ``sent_messages`` / ``wait_for_sent`` /
``requests``, and inject faults with ``fail_next`` and ``set_delay``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
import mimetypes
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, TypeVar

from aiohttp import ClientSession, ClientTimeout, web
from telegram.constants import ReactionEmoji

from tests.fakes.telegram_entities import (
    Entity,
    EntityParseError,
    check_entities,
    detect_entities,
    parse,
    utf16_len,
    utf16_slice,
)

# python-telegram-bot warns about retry_after being an int unless this is set.
os.environ.setdefault("PTB_TIMEDELTA", "1")

T = TypeVar("T")
JSON = dict[str, Any]
ChatType = Literal["private", "group", "supergroup", "channel"]

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
DOWNLOAD_LIMIT = 20 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024
PHOTO_LIMIT = 10 * 1024 * 1024
REACTION_EMOJI: frozenset[str] = frozenset(e.value for e in ReactionEmoji)
CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# What a bot gets when it never named allowed_updates (Telegram's default).
DEFAULT_UPDATES = frozenset(
    {
        "message",
        "edited_message",
        "channel_post",
        "edited_channel_post",
        "callback_query",
        "my_chat_member",
    }
)
JSON_PARAMS = frozenset(
    {
        "entities",
        "caption_entities",
        "reply_parameters",
        "allowed_updates",
        "reaction",
        "commands",
        "scope",
        "link_preview_options",
        "reply_markup",
    }
)


class ApiError(Exception):
    """An error reply: ``{"ok": false, "error_code": status, "description": ...}``."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _bad(description: str, parameters: JSON | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters)


def _forbidden(description: str) -> ApiError:
    return ApiError(403, f"Forbidden: {description}")


# ----------------------------------------------------------------------------------- model


@dataclass(eq=False)
class FakeUser:
    """A Telegram account: a person, or a bot's own user."""

    id: int
    first_name: str
    username: str | None = None
    last_name: str | None = None
    language_code: str | None = "en"
    is_bot: bool = False

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}" if self.last_name else self.first_name

    def to_api(self) -> JSON:
        data: JSON = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        if self.language_code and not self.is_bot:
            data["language_code"] = self.language_code
        return data


@dataclass(eq=False)
class FakeBot:
    """A bot account, known by its token."""

    token: str
    user: FakeUser
    privacy_mode: bool = False
    updates: list[JSON] = field(default_factory=list)
    next_update_id: int = 100_000
    allowed_updates: frozenset[str] | None = None
    webhook_url: str = ""
    commands: dict[tuple[str, str], list[JSON]] = field(default_factory=dict)
    poll_task: asyncio.Task[Any] | None = None
    poll_request: web.Request | None = None
    blocked_by: set[int] = field(default_factory=set)
    _event: asyncio.Event | None = None

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def username(self) -> str:
        return self.user.username or ""

    def event(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    def my_commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """The commands set with setMyCommands for ``scope`` (default scope if None)."""
        return list(self.commands.get((_scope_key(scope), language_code), []))


def _scope_key(scope: JSON | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


@dataclass(eq=False)
class FakeChat:
    """A chat. Private chats exist once per (bot, user) pair and have the user's id."""

    id: int
    type: ChatType
    title: str | None = None
    username: str | None = None
    # user id -> "creator" | "administrator" | "member" | "restricted" | "left" | "kicked"
    members: dict[int, str] = field(default_factory=dict)
    messages: dict[int, FakeMessage] = field(default_factory=dict)
    next_message_id: int = 1
    migrated_to: int | None = None
    # private chats only
    user: FakeUser | None = None
    bot: FakeBot | None = None
    started: bool = False
    actions: list[tuple[int, str]] = field(default_factory=list)

    def to_api(self) -> JSON:
        data: JSON = {"id": self.id, "type": self.type}
        if self.type == "private" and self.user is not None:
            data["first_name"] = self.user.first_name
            if self.user.last_name:
                data["last_name"] = self.user.last_name
            if self.user.username:
                data["username"] = self.user.username
        else:
            data["title"] = self.title or ""
            if self.username:
                data["username"] = self.username
        return data


@dataclass(eq=False)
class FakeFile:
    """An uploaded file, downloadable through getFile and /file/bot<token>/<file_path>."""

    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    kind: str  # "photo" | "document"
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    def photo_size(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
            "file_size": self.size,
        }

    def document(self) -> JSON:
        data: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": self.size,
        }
        if self.file_name:
            data["file_name"] = self.file_name
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data


@dataclass(eq=False)
class FakeMessage:
    """A message as the fake keeps it; ``to_api`` renders the Bot API ``Message``."""

    chat: FakeChat
    message_id: int
    sender: FakeUser
    date: int
    text: str | None = None
    entities: list[Entity] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[Entity] = field(default_factory=list)
    reply_to: FakeMessage | None = None
    quote: JSON | None = None
    photo: list[FakeFile] = field(default_factory=list)
    document: FakeFile | None = None
    animation: FakeFile | None = None
    link_preview_options: JSON | None = None
    reply_markup: JSON | None = None
    has_media_spoiler: bool = False
    edit_date: int | None = None
    # earlier versions, oldest first: (text or caption, entities)
    history: list[tuple[str | None, list[Entity]]] = field(default_factory=list)
    deleted: bool = False
    # user or bot id -> emoji list
    reactions: dict[int, list[str]] = field(default_factory=dict)
    service: JSON = field(default_factory=dict)
    # other Message fields as given (forward_origin, poll, contact, ...)
    extra: JSON = field(default_factory=dict)

    @property
    def from_bot(self) -> bool:
        return self.sender.is_bot

    @property
    def content(self) -> str:
        """Text or caption ("" when neither)."""
        return self.text if self.text is not None else (self.caption or "")

    @property
    def file(self) -> FakeFile | None:
        """The document, or the largest photo size."""
        if self.document is not None:
            return self.document
        return self.photo[-1] if self.photo else None

    def entity_texts(self, kind: str | None = None) -> list[tuple[str, str]]:
        """(type, covered text) for each entity, optionally of one type."""
        ents = self.entities if self.text is not None else self.caption_entities
        return [
            (e["type"], utf16_slice(self.content, e["offset"], e["length"]))
            for e in ents
            if kind is None or e["type"] == kind
        ]

    def to_api(self, *, with_reply: bool = True) -> JSON:
        data: JSON = {
            "message_id": self.message_id,
            "from": self.sender.to_api(),
            "chat": self.chat.to_api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if with_reply and self.reply_to is not None:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
            if self.quote is not None:
                data["quote"] = self.quote
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
            if self.link_preview_options is not None:
                data["link_preview_options"] = self.link_preview_options
        if self.photo:
            data["photo"] = [p.photo_size() for p in self.photo]
        if self.animation is not None:
            # Telegram sends an animation as both (older clients read the document).
            data["animation"] = {
                **self.animation.document(),
                "width": self.animation.width,
                "height": self.animation.height,
                "duration": 0,
            }
            data["document"] = self.animation.document()
        elif self.document is not None:
            data["document"] = self.document.document()
        if self.caption is not None:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.has_media_spoiler:
            data["has_media_spoiler"] = True
        if self.reply_markup is not None:
            data["reply_markup"] = self.reply_markup
        data.update(self.extra)
        data.update(self.service)
        return data


@dataclass
class RecordedRequest:
    """One Bot API call as received (JSON-valued parameters decoded)."""

    bot: FakeBot | None
    method: str
    params: JSON
    files: dict[str, bytes]
    status: int = 200
    response: JSON | None = None


@dataclass
class _Fault:
    status: int
    description: str
    parameters: JSON | None
    remaining: int


# ---------------------------------------------------------------------------------- params


@dataclass
class _Upload:
    data: bytes
    filename: str | None
    content_type: str | None


class _Params:
    """Request parameters from a query string, a form, multipart or a JSON body."""

    def __init__(self, values: JSON, uploads: dict[str, _Upload]) -> None:
        self.values = values
        self.uploads = uploads

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def get_str(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise _bad(
                    f"{name} is empty" if name == "text" else f"parameter {name} is required"
                )
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise _bad(f"parameter {name} is required")
            return None
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise _bad(f"invalid {name} specified") from exc

    def get_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise _bad(f"invalid {name} specified") from exc

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str) -> Any:
        value = self.values.get(name)
        if isinstance(value, str):
            if value == "":
                return None
            try:
                return json.loads(value)
            except ValueError as exc:
                raise _bad(f"can't parse {name} JSON object") from exc
        return value

    def chat_id(self) -> int | str:
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise _bad("chat_id is empty")
        if isinstance(value, int):
            return value
        text = str(value)
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError as exc:
            raise _bad("chat not found") from exc


def _image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            return int(width), int(height)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise _bad("IMAGE_PROCESS_FAILED") from exc


def _thumbnail(data: bytes, limit: int) -> tuple[bytes, int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        copy = image.convert("RGB")
        copy.thumbnail((limit, limit))
        out = io.BytesIO()
        copy.save(out, format="JPEG")
        width, height = copy.size
        return out.getvalue(), int(width), int(height)


# ------------------------------------------------------------------------------------ fake


Handler = Callable[[FakeBot, _Params, web.Request], Awaitable[Any]]


class FakeTelegram:
    """The Bot API stand-in server plus the control surface tests use."""

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
        self.faults: dict[str, list[_Fault]] = {}
        self.delays: dict[str, float] = {}
        self._ids = itertools.count(1)
        self._user_ids = itertools.count(10_000_001)
        self._bot_ids = itertools.count(7_000_000_001)
        self._group_ids = itertools.count(4_000_000_001)
        self._changed: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Handler] = {
            "getme": self._get_me,
            "logout": self._true,
            "close": self._true,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagecaption": self._edit_message_caption,
            "deletemessage": self._delete_message,
            "deletemessages": self._delete_messages,
            "setmessagereaction": self._set_message_reaction,
            "sendphoto": self._send_photo,
            "senddocument": self._send_document,
            "sendanimation": self._send_animation,
            "getfile": self._get_file,
            "getuserprofilephotos": self._get_user_profile_photos,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getchat": self._get_chat,
            "getchatmember": self._get_chat_member,
            "getchatadministrators": self._get_chat_administrators,
            "getchatmembercount": self._get_chat_member_count,
            "sendchataction": self._send_chat_action,
            "answercallbackquery": self._true,
        }

    # ------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=UPLOAD_LIMIT + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._changed = asyncio.Event()
        # handler_cancellation: a long poll whose client went away ends at once (PTB cancels
        # its poll on stop and then polls again with timeout=0).
        self._runner = web.AppRunner(app, handler_cancellation=True, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None)
        assert sockets
        self.port = int(sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

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

    # ----------------------------------------------------------------------- world setup

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

    # --------------------------------------------------------------------- user actions

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
                document, "document", file_name, mime_type or _guess_mime(file_name)
            )
        given = list(entities) if entities is not None else []
        if photo is not None or document is not None:
            body = caption if caption is not None else text
            if body is not None:
                msg.caption = body
                msg.caption_entities = _merge(given, detect_entities(body, given))
        elif text:
            msg.text = text
            msg.entities = _merge(given, detect_entities(text, given))
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
            msg.entities = _merge(given, detect_entities(text, given))
        else:
            msg.caption = text
            msg.caption_entities = _merge(given, detect_entities(text, given))
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

    # ------------------------------------------------------------------------ inspection

    def messages(self, chat: FakeChat | int, *, bot: FakeBot | None = None) -> list[FakeMessage]:
        """Every message in the chat (users' and bots'), deleted ones included."""
        return [m for c in self._chats_for(chat, bot) for m in c.messages.values()]

    def sent_messages(
        self,
        chat: FakeChat | int,
        *,
        bot: FakeBot | None = None,
        include_deleted: bool = True,
    ) -> list[FakeMessage]:
        """What bots sent to the chat, in order; each carries its edits, deletion, reactions,
        reply target and files (with bytes)."""
        return [
            m
            for m in self.messages(chat, bot=bot)
            if m.from_bot
            and (bot is None or m.sender is bot.user)
            and (include_deleted or not m.deleted)
            and not m.service
        ]

    def calls(self, method: str, *, bot: FakeBot | None = None) -> list[RecordedRequest]:
        """Recorded requests for one Bot API method (case-insensitive)."""
        name = method.lower()
        return [
            r for r in self.requests if r.method.lower() == name and (bot is None or r.bot is bot)
        ]

    async def wait_until(self, check: Callable[[], T | None], timeout: float = 5.0) -> T:  # noqa: ASYNC109
        """Await until ``check()`` returns something truthy; AssertionError on timeout."""
        assert self._changed is not None, "start the fake first"
        try:
            async with asyncio.timeout(timeout):
                while True:
                    result = check()
                    if result:
                        return result
                    event = self._changed
                    await event.wait()
        except TimeoutError:
            raise AssertionError(f"condition not met within {timeout}s") from None

    async def wait_for_sent(
        self,
        predicate: Callable[[FakeMessage], bool] = lambda m: True,
        timeout: float = 5.0,  # noqa: ASYNC109
        *,
        chat: FakeChat | int | None = None,
    ) -> FakeMessage:
        """The first bot-sent message (optionally in ``chat``) that satisfies ``predicate``
        now or after a later change (send, edit, delete, reaction)."""

        def check() -> FakeMessage | None:
            pool = (
                self.sent_messages(chat)
                if chat is not None
                else [m for c in self._all_chats() for m in c.messages.values() if m.from_bot]
            )
            return next((m for m in pool if not m.service and predicate(m)), None)

        try:
            return await self.wait_until(check, timeout)
        except AssertionError:
            sent = [
                (m.chat.id, m.message_id, m.content[:80])
                for c in self._all_chats()
                for m in c.messages.values()
                if m.from_bot
            ]
            raise AssertionError(
                f"no matching bot message within {timeout}s; sent: {sent}"
            ) from None

    async def wait_for_request(
        self,
        method: str,
        predicate: Callable[[RecordedRequest], bool] = lambda r: True,
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> RecordedRequest:
        return await self.wait_until(
            lambda: next((r for r in self.calls(method) if predicate(r)), None), timeout
        )

    def pending_updates(self, bot: FakeBot | None = None) -> list[JSON]:
        """Updates not yet confirmed by the bot."""
        return list(self._one_bot(bot).updates)

    # -------------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = None,
        count: int = 1,
        description: str | None = None,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """The next ``count`` calls of ``method`` fail with ``status``. 429 carries
        ``parameters.retry_after`` (default 1 s)."""
        parameters: JSON | None = None
        if status == 429:
            retry_after = 1 if retry_after is None else retry_after
            parameters = {"retry_after": retry_after}
            description = description or f"Too Many Requests: retry after {retry_after}"
        elif retry_after is not None:
            parameters = {"retry_after": retry_after}
        if migrate_to_chat_id is not None:
            parameters = {**(parameters or {}), "migrate_to_chat_id": migrate_to_chat_id}
        default = {
            400: "Bad Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found",
            409: "Conflict",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }
        fault = _Fault(status, description or default.get(status, "Error"), parameters, count)
        self.faults.setdefault(method.lower(), []).append(fault)

    def set_delay(self, method: str, seconds: float | None) -> None:
        """Hold every call of ``method`` this long before answering (None: no delay)."""
        if seconds is None:
            self.delays.pop(method.lower(), None)
        else:
            self.delays[method.lower()] = seconds

    # ------------------------------------------------------------------------ internals

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
        width, height = _image_size(data)
        if len(data) > PHOTO_LIMIT:
            raise _bad("PHOTO_SAVE_FILE_INVALID")
        if width + height > 10_000:
            raise _bad("PHOTO_INVALID_DIMENSIONS")
        sizes: list[FakeFile] = []
        if max(width, height) > 320:
            small, w, h = _thumbnail(data, 320)
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

    # --------------------------------------------------------------------- HTTP plumbing

    async def _read_params(self, request: web.Request) -> _Params:
        values: JSON = dict(request.query)
        uploads: dict[str, _Upload] = {}
        if request.method == "POST" and request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise _bad("can't parse JSON") from exc
                if isinstance(body, dict):
                    values.update(body)
            else:
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        uploads[key] = _Upload(
                            value.file.read(), value.filename, value.content_type
                        )
                    else:
                        values[key] = value
        return _Params(values, uploads)

    def _reply(self, status: int, body: JSON) -> web.Response:
        return web.Response(
            status=status, body=json.dumps(body).encode(), content_type="application/json"
        )

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        method = request.match_info["method"]
        name = method.lower()
        bot = self.bots.get(token)
        try:
            params = await self._read_params(request)
        except ApiError as err:
            return self._reply(
                err.status,
                {"ok": False, "error_code": err.status, "description": err.description},
            )
        record = RecordedRequest(
            bot,
            method,
            {k: _decode(k, v) for k, v in params.values.items()},
            {k: u.data for k, u in params.uploads.items()},
        )
        self.requests.append(record)
        self._notify()
        try:
            if ":" not in token or not token.split(":", 1)[0].isdigit():
                raise ApiError(404, "Not Found")
            if bot is None:
                raise ApiError(401, "Unauthorized")
            handler = self._handlers.get(name)
            if handler is None:
                raise ApiError(404, "Not Found")
            faults = self.faults.get(name)
            if faults:
                fault = faults[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    faults.pop(0)
                raise ApiError(fault.status, fault.description, fault.parameters)
            work = self._run(handler, bot, params, request, self.delays.get(name))
            if name == "getupdates":
                result = await work
            else:
                # Like Telegram, a request that arrived is carried out even when the client
                # gives up waiting (timeouts can duplicate messages).
                task = asyncio.ensure_future(work)
                task.add_done_callback(_retrieve)
                result = await asyncio.shield(task)
        except ApiError as err:
            body: JSON = {"ok": False, "error_code": err.status, "description": err.description}
            if err.parameters:
                body["parameters"] = err.parameters
            record.status = err.status
            record.response = body
            self._notify()
            return self._reply(err.status, body)
        record.response = {"ok": True, "result": result}
        self._notify()
        return self._reply(200, record.response)

    async def _run(
        self,
        handler: Handler,
        bot: FakeBot,
        params: _Params,
        request: web.Request,
        delay: float | None,
    ) -> Any:
        if delay:
            await asyncio.sleep(delay)
        return await handler(bot, params, request)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        bot = self.bots.get(request.match_info["token"])
        path = request.match_info["path"]
        if bot is None:
            return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        stored = next((f for f in self.files.values() if f.file_path == path), None)
        if stored is None:
            return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
        return web.Response(
            body=stored.data, content_type=stored.mime_type or "application/octet-stream"
        )

    # ------------------------------------------------------------------------- resolving

    def _chat(self, bot: FakeBot, params: _Params, *, sending: bool = True) -> FakeChat:
        ref = params.chat_id()
        if isinstance(ref, str):
            found = next(
                (c for c in self.chats.values() if c.username and f"@{c.username}" == ref), None
            )
            if found is None:
                raise _bad("chat not found")
            chat = found
        elif ref > 0:
            user = self.users.get(ref)
            if user is None or user.is_bot:
                raise _bad("chat not found")
            private = self.private_chats.get((bot.id, ref))
            if private is None or not private.started:
                if sending:
                    raise _forbidden("bot can't initiate conversation with a user")
                raise _bad("chat not found")
            if ref in bot.blocked_by and sending:
                raise _forbidden("bot was blocked by the user")
            return private
        else:
            chat_or_none = self.chats.get(ref)
            if chat_or_none is None:
                raise _bad("chat not found")
            chat = chat_or_none
        if chat.migrated_to is not None:
            raise _bad(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        status = chat.members.get(bot.id)
        kind = "group chat" if chat.type == "group" else f"{chat.type} chat"
        if status == "kicked":
            raise _forbidden(f"bot was kicked from the {kind}")
        if status not in ("creator", "administrator", "member", "restricted"):
            raise _forbidden(f"bot is not a member of the {kind}")
        return chat

    def _message(self, chat: FakeChat, params: _Params, missing: str) -> FakeMessage:
        mid = params.get_int("message_id")
        if mid is None:
            raise _bad("message identifier is not specified")
        msg = chat.messages.get(mid)
        if msg is None or msg.deleted:
            raise _bad(missing)
        return msg

    def _formatted(
        self, params: _Params, text_key: str, entities_key: str
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
            raise _bad(f"can't parse entities: {exc}") from exc
        except ValueError as exc:
            raise _bad("unsupported parse_mode") from exc
        entities = [self._text_mention(e) for e in entities]
        return text, _merge(entities, detect_entities(text, entities))

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

    def _reply_target(self, chat: FakeChat, params: _Params) -> tuple[FakeMessage | None, JSON]:
        reply = params.get_json("reply_parameters")
        if reply is None and params.has("reply_to_message_id"):
            reply = {
                "message_id": params.get_int("reply_to_message_id"),
                "allow_sending_without_reply": params.get_bool("allow_sending_without_reply"),
            }
        if reply is None:
            return None, {}
        if not isinstance(reply, dict) or "message_id" not in reply:
            raise _bad("invalid reply parameters specified")
        other = reply.get("chat_id")
        if other is not None and str(other) != str(chat.id):
            raise _bad("replies to other chats are not supported by this fake")
        target = chat.messages.get(int(reply["message_id"]))
        if target is None or target.deleted:
            if reply.get("allow_sending_without_reply"):
                return None, {}
            raise _bad("message to be replied not found")
        quote = reply.get("quote")
        if quote:
            position = target.content.find(quote)
            if position < 0:
                raise _bad("QUOTE_TEXT_INVALID")
            return target, {
                "text": quote,
                "position": utf16_len(target.content[:position]),
                "is_manual": True,
            }
        return target, {}

    def _bot_message(self, bot: FakeBot, chat: FakeChat, params: _Params) -> FakeMessage:
        target, quote = self._reply_target(chat, params)
        if chat.type != "private" and chat.members.get(bot.id) == "restricted":
            raise _bad("not enough rights to send text messages to the chat")
        msg = self._new_message(chat, bot.user)
        msg.reply_to = target
        msg.quote = quote or None
        markup = params.get_json("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            msg.reply_markup = markup
        return msg

    # ------------------------------------------------------------------------ methods

    async def _true(self, bot: FakeBot, params: _Params, request: web.Request) -> bool:
        return True

    async def _get_me(self, bot: FakeBot, params: _Params, request: web.Request) -> JSON:
        return {
            **bot.user.to_api(),
            "can_join_groups": True,
            "can_read_all_group_messages": not bot.privacy_mode,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _delete_webhook(self, bot: FakeBot, params: _Params, request: web.Request) -> bool:
        bot.webhook_url = ""
        if params.get_bool("drop_pending_updates"):
            bot.updates.clear()
        return True

    async def _set_webhook(self, bot: FakeBot, params: _Params, request: web.Request) -> bool:
        bot.webhook_url = params.get_str("url") or ""
        return True

    async def _get_webhook_info(self, bot: FakeBot, params: _Params, request: web.Request) -> JSON:
        return {
            "url": bot.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(bot.updates),
        }

    async def _get_updates(self, bot: FakeBot, params: _Params, request: web.Request) -> Any:
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

    async def _send_message(self, bot: FakeBot, params: _Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params)
        text, entities = self._formatted(params, "text", "entities")
        if not text or not text.strip():
            raise _bad("message text is empty")
        if len(text) > TEXT_LIMIT:
            raise _bad("message is too long")
        msg = self._bot_message(bot, chat, params)
        msg.text, msg.entities = text, entities
        preview = params.get_json("link_preview_options")
        if preview is None and params.has("disable_web_page_preview"):
            preview = {"is_disabled": params.get_bool("disable_web_page_preview")}
        if isinstance(preview, dict):
            msg.link_preview_options = preview
        self._notify()
        return msg.to_api()

    async def _edit_message_text(self, bot: FakeBot, params: _Params, request: web.Request) -> JSON:
        if params.has("inline_message_id"):
            raise _bad("inline messages are not supported by this fake")
        chat = self._chat(bot, params)
        msg = self._message(chat, params, "message to edit not found")
        if msg.sender is not bot.user:
            raise _bad("message can't be edited")
        if msg.text is None:
            raise _bad("there is no text in the message to edit")
        text, entities = self._formatted(params, "text", "entities")
        if not text or not text.strip():
            raise _bad("message text is empty")
        if len(text) > TEXT_LIMIT:
            raise _bad("MESSAGE_TOO_LONG")
        preview = params.get_json("link_preview_options")
        markup = params.get_json("reply_markup")
        if text == msg.text and entities == msg.entities and markup == msg.reply_markup:
            raise _bad(
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
        self, bot: FakeBot, params: _Params, request: web.Request
    ) -> JSON:
        chat = self._chat(bot, params)
        msg = self._message(chat, params, "message to edit not found")
        if msg.sender is not bot.user or msg.text is not None:
            raise _bad("message can't be edited")
        caption, entities = self._formatted(params, "caption", "caption_entities")
        if caption is not None and len(caption) > CAPTION_LIMIT:
            raise _bad("message caption is too long")
        if caption == msg.caption and entities == msg.caption_entities:
            raise _bad(
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
            raise _bad("message can't be deleted")
        msg.deleted = True

    async def _delete_message(self, bot: FakeBot, params: _Params, request: web.Request) -> bool:
        chat = self._chat(bot, params, sending=False)
        self._delete(bot, chat, self._message(chat, params, "message to delete not found"))
        self._notify()
        return True

    async def _delete_messages(self, bot: FakeBot, params: _Params, request: web.Request) -> bool:
        chat = self._chat(bot, params, sending=False)
        ids = params.get_json("message_ids")
        if not isinstance(ids, list) or not ids:
            raise _bad("message identifiers are not specified")
        for mid in ids:
            msg = chat.messages.get(int(mid))
            if msg is not None and not msg.deleted:
                with contextlib.suppress(ApiError):
                    self._delete(bot, chat, msg)
        self._notify()
        return True

    async def _set_message_reaction(
        self, bot: FakeBot, params: _Params, request: web.Request
    ) -> bool:
        chat = self._chat(bot, params, sending=False)
        msg = self._message(chat, params, "message to react not found")
        reaction = params.get_json("reaction") or []
        if not isinstance(reaction, list):
            raise _bad("REACTION_INVALID")
        emoji: list[str] = []
        for item in reaction:
            if not isinstance(item, dict) or item.get("type") != "emoji":
                raise _bad("REACTION_INVALID")
            if item.get("emoji") not in REACTION_EMOJI:
                raise _bad("REACTION_INVALID")
            emoji.append(str(item["emoji"]))
        if len(emoji) > 1:
            raise _bad("REACTIONS_TOO_MANY")
        if emoji:
            msg.reactions[bot.id] = emoji
        else:
            msg.reactions.pop(bot.id, None)
        self._notify()
        return True

    async def _input_file(self, params: _Params, name: str, kind: str) -> FakeFile | _Upload:
        upload = params.uploads.get(name)
        value = params.get_str(name)
        if upload is None and value and value.startswith("attach://"):
            upload = params.uploads.get(value[len("attach://") :])
        if upload is not None:
            if len(upload.data) > UPLOAD_LIMIT:
                raise ApiError(413, "Request Entity Too Large")
            if not upload.data:
                raise _bad("file must be non-empty")
            return upload
        if not value:
            raise _bad(f"there is no {name} in the request")
        if value.startswith(("http://", "https://")):
            try:
                async with (
                    ClientSession(timeout=ClientTimeout(total=5)) as session,
                    session.get(value) as resp,
                ):
                    if resp.status != 200:
                        raise _bad("failed to get HTTP URL content")
                    data = await resp.read()
            except (OSError, TimeoutError) as exc:
                raise _bad("failed to get HTTP URL content") from exc
            return _Upload(data, value.rsplit("/", 1)[-1] or None, None)
        existing = self.files.get(value)
        if existing is None:
            raise _bad("wrong file identifier/HTTP URL specified")
        if existing.kind != kind:
            raise _bad(
                f"can't use file of type {existing.kind.capitalize()} as {kind.capitalize()}"
            )
        return existing

    def _caption(self, params: _Params) -> tuple[str | None, list[Entity]]:
        caption, entities = self._formatted(params, "caption", "caption_entities")
        if caption is not None and len(caption) > CAPTION_LIMIT:
            raise _bad("message caption is too long")
        return caption, entities

    async def _send_photo(self, bot: FakeBot, params: _Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params)
        caption, entities = self._caption(params)
        source = await self._input_file(params, "photo", "photo")
        if isinstance(source, FakeFile):
            sizes = [f for f in self.files.values() if f is source]
        else:
            sizes = self._store_photo(source.data)
        msg = self._bot_message(bot, chat, params)
        msg.photo = sizes
        msg.caption, msg.caption_entities = caption, entities
        msg.has_media_spoiler = params.get_bool("has_spoiler")
        self._notify()
        return msg.to_api()

    async def _send_document(self, bot: FakeBot, params: _Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params)
        caption, entities = self._caption(params)
        source = await self._input_file(params, "document", "document")
        if isinstance(source, FakeFile):
            stored = source
        else:
            name = source.filename or "file"
            mime = source.content_type
            if not mime or mime == "application/octet-stream":
                mime = _guess_mime(name)
            stored = self._store_file(source.data, "document", name, mime)
        msg = self._bot_message(bot, chat, params)
        msg.document = stored
        msg.caption, msg.caption_entities = caption, entities
        self._notify()
        return msg.to_api()

    async def _send_animation(self, bot: FakeBot, params: _Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params)
        caption, entities = self._caption(params)
        source = await self._input_file(params, "animation", "document")
        if isinstance(source, FakeFile):
            stored = source
        else:
            name = source.filename or "animation.gif"
            stored = self._store_file(source.data, "document", name, _guess_mime(name))
            with contextlib.suppress(ApiError):
                stored.width, stored.height = _image_size(source.data)
        msg = self._bot_message(bot, chat, params)
        msg.animation = stored
        msg.caption, msg.caption_entities = caption, entities
        self._notify()
        return msg.to_api()

    async def _get_file(self, bot: FakeBot, params: _Params, request: web.Request) -> JSON:
        file_id = params.get_str("file_id")
        stored = self.files.get(file_id or "")
        if stored is None:
            raise _bad("invalid file_id")
        if stored.size > DOWNLOAD_LIMIT:
            raise _bad("file is too big")
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    async def _get_user_profile_photos(
        self, bot: FakeBot, params: _Params, request: web.Request
    ) -> JSON:
        user_id = params.get_int("user_id", required=True)
        if user_id not in self.users:
            raise _bad("user not found")
        offset = params.get_int("offset") or 0
        limit = params.get_int("limit") or 100
        if not 1 <= limit <= 100:
            raise _bad("limit must be between 1 and 100")
        photos = self.profile_photos.get(int(user_id or 0), [])
        return {
            "total_count": len(photos),
            "photos": [
                [f.photo_size() for f in sizes] for sizes in photos[offset : offset + limit]
            ],
        }

    async def _set_my_commands(self, bot: FakeBot, params: _Params, request: web.Request) -> bool:
        commands = params.get_json("commands")
        if not isinstance(commands, list):
            raise _bad("parameter commands is required")
        if len(commands) > 100:
            raise _bad("BOT_COMMANDS_TOO_MUCH")
        clean: list[JSON] = []
        for item in commands:
            if not isinstance(item, dict):
                raise _bad("BOT_COMMAND_INVALID")
            name = str(item.get("command", ""))
            description = str(item.get("description", ""))
            if not (1 <= len(name) <= 32) or not all(
                c.islower() or c.isdigit() or c == "_" for c in name
            ):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("command description must be non-empty")
            clean.append({"command": name, "description": description})
        key = (_scope_key(params.get_json("scope")), params.get_str("language_code") or "")
        if clean:
            bot.commands[key] = clean
        else:
            bot.commands.pop(key, None)
        return True

    async def _get_my_commands(
        self, bot: FakeBot, params: _Params, request: web.Request
    ) -> list[JSON]:
        return bot.my_commands(params.get_json("scope"), params.get_str("language_code") or "")

    async def _delete_my_commands(
        self, bot: FakeBot, params: _Params, request: web.Request
    ) -> bool:
        key = (_scope_key(params.get_json("scope")), params.get_str("language_code") or "")
        bot.commands.pop(key, None)
        return True

    async def _get_chat(self, bot: FakeBot, params: _Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params, sending=False)
        data = chat.to_api()
        data.update(
            {
                "accent_color_id": chat.id % 7,
                "max_reaction_count": 11,
                "accepted_gift_types": {
                    "unlimited_gifts": chat.type == "private",
                    "limited_gifts": chat.type == "private",
                    "unique_gifts": chat.type == "private",
                    "premium_subscription": chat.type == "private",
                    "gifts_from_channels": chat.type == "private",
                },
            }
        )
        if chat.type != "private":
            data["permissions"] = {
                "can_send_messages": True,
                "can_send_photos": True,
                "can_send_documents": True,
                "can_invite_users": True,
            }
        return data

    def _member(self, chat: FakeChat, user: FakeUser) -> JSON:
        status = chat.members.get(user.id, "left")
        if chat.type == "private":
            status = "member"
        if status == "creator":
            return {"status": "creator", "user": user.to_api(), "is_anonymous": False}
        if status == "administrator":
            return {
                "status": "administrator",
                "user": user.to_api(),
                "can_be_edited": False,
                "is_anonymous": False,
                "can_manage_chat": True,
                "can_delete_messages": True,
                "can_manage_video_chats": True,
                "can_restrict_members": True,
                "can_promote_members": False,
                "can_change_info": True,
                "can_invite_users": True,
                "can_post_stories": False,
                "can_edit_stories": False,
                "can_delete_stories": False,
                "can_pin_messages": True,
                "can_manage_topics": False,
            }
        if status == "kicked":
            return {"status": "kicked", "user": user.to_api(), "until_date": 0}
        if status == "restricted":
            return {
                "status": "restricted",
                "user": user.to_api(),
                "is_member": True,
                "can_send_messages": False,
                "can_send_audios": False,
                "can_send_documents": False,
                "can_send_photos": False,
                "can_send_videos": False,
                "can_send_video_notes": False,
                "can_send_voice_notes": False,
                "can_send_polls": False,
                "can_send_other_messages": False,
                "can_add_web_page_previews": False,
                "can_change_info": False,
                "can_invite_users": False,
                "can_pin_messages": False,
                "can_manage_topics": False,
                "until_date": 0,
            }
        return {"status": status, "user": user.to_api()}

    async def _get_chat_member(self, bot: FakeBot, params: _Params, request: web.Request) -> JSON:
        chat = self._chat(bot, params, sending=False)
        user = self.users.get(params.get_int("user_id", required=True) or 0)
        if user is None:
            raise _bad("user not found")
        return self._member(chat, user)

    async def _get_chat_administrators(
        self, bot: FakeBot, params: _Params, request: web.Request
    ) -> list[JSON]:
        chat = self._chat(bot, params, sending=False)
        if chat.type == "private":
            raise _bad("there are no administrators in the private chat")
        return [
            self._member(chat, self.users[uid])
            for uid, status in chat.members.items()
            if status in ("creator", "administrator")
        ]

    async def _get_chat_member_count(
        self, bot: FakeBot, params: _Params, request: web.Request
    ) -> int:
        chat = self._chat(bot, params, sending=False)
        return sum(
            1
            for s in chat.members.values()
            if s in ("creator", "administrator", "member", "restricted")
        )

    async def _send_chat_action(self, bot: FakeBot, params: _Params, request: web.Request) -> bool:
        chat = self._chat(bot, params)
        action = params.get_str("action")
        if action not in CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        chat.actions.append((bot.id, action))
        self._notify()
        return True


def _retrieve(task: asyncio.Future[Any]) -> None:
    """Mark the outcome of a shielded call as seen (its client may be gone)."""
    if not task.cancelled():
        task.exception()


def _merge(first: list[Entity], second: list[Entity]) -> list[Entity]:
    return sorted([*first, *second], key=lambda e: (int(e["offset"]), -int(e["length"])))


def _guess_mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _decode(name: str, value: Any) -> Any:
    if name in JSON_PARAMS and isinstance(value, str):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value
