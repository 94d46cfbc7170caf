"""Data model of the Telegram Bot API stand-in (see ``tests/fakes/telegram.py``): users,
bots, chats, files, messages, recorded requests and faults, request parameters."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import mimetypes
import os
from dataclasses import dataclass, field
from typing import Any, Literal

from aiohttp import web
from telegram.constants import ReactionEmoji

from tests.fakes.telegram_entities import Entity, utf16_slice

# python-telegram-bot warns about retry_after being an int unless this is set.
os.environ.setdefault("PTB_TIMEDELTA", "1")


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


def bad_request(description: str, parameters: JSON | None = None) -> ApiError:
    return ApiError(400, f"Bad Request: {description}", parameters)


def forbidden(description: str) -> ApiError:
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
        return list(self.commands.get((scope_key(scope), language_code), []))


def scope_key(scope: JSON | None) -> str:
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
class Fault:
    status: int
    description: str
    parameters: JSON | None
    remaining: int


# ---------------------------------------------------------------------------------- params


@dataclass
class Upload:
    data: bytes
    filename: str | None
    content_type: str | None


class Params:
    """Request parameters from a query string, a form, multipart or a JSON body."""

    def __init__(self, values: JSON, uploads: dict[str, Upload]) -> None:
        self.values = values
        self.uploads = uploads

    def has(self, name: str) -> bool:
        return self.values.get(name) not in (None, "")

    def get_str(self, name: str, *, required: bool = False) -> str | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(
                    f"{name} is empty" if name == "text" else f"parameter {name} is required"
                )
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def get_int(self, name: str, *, required: bool = False) -> int | None:
        value = self.values.get(name)
        if value is None or value == "":
            if required:
                raise bad_request(f"parameter {name} is required")
            return None
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"invalid {name} specified") from exc

    def get_float(self, name: str) -> float | None:
        value = self.values.get(name)
        if value is None or value == "":
            return None
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise bad_request(f"invalid {name} specified") from exc

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
                raise bad_request(f"can't parse {name} JSON object") from exc
        return value

    def chat_id(self) -> int | str:
        value = self.values.get("chat_id")
        if value is None or value == "":
            raise bad_request("chat_id is empty")
        if isinstance(value, int):
            return value
        text = str(value)
        if text.startswith("@"):
            return text
        try:
            return int(text)
        except ValueError as exc:
            raise bad_request("chat not found") from exc


def image_size(data: bytes) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            return int(width), int(height)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise bad_request("IMAGE_PROCESS_FAILED") from exc


def thumbnail(data: bytes, limit: int) -> tuple[bytes, int, int]:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        copy = image.convert("RGB")
        copy.thumbnail((limit, limit))
        out = io.BytesIO()
        copy.save(out, format="JPEG")
        width, height = copy.size
        return out.getvalue(), int(width), int(height)


def retrieve(task: asyncio.Future[Any]) -> None:
    """Mark the outcome of a shielded call as seen (its client may be gone)."""
    if not task.cancelled():
        task.exception()


def merge_entities(first: list[Entity], second: list[Entity]) -> list[Entity]:
    return sorted([*first, *second], key=lambda e: (int(e["offset"]), -int(e["length"])))


def guess_mime(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def decode_param(name: str, value: Any) -> Any:
    if name in JSON_PARAMS and isinstance(value, str):
        with contextlib.suppress(ValueError):
            return json.loads(value)
    return value
