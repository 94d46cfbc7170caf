"""The neutral vocabulary shared by the core and the platform adapters.

Everything an adapter hands to the router (``Inbound``) and everything the outbox hands to an
adapter (``Delivery``) is one of the frozen values below; the ``Adapter`` base class and the two
delivery errors complete the contract. Platform SDK types never cross this line: an adapter
converts once, at its edge. ``bots.base`` re-exports all of this for adapter authors.

Ids: every id is a ``str`` on the neutral side (a platform's integer ids are rendered in
decimal) but carries a distinct ``NewType`` so that mypy catches a message id passed where a
chat id belongs; a platform package gives its own typed constructors of ``ChatRef``.

A ``Platform`` is a platform's registered name (``PlatformSpec.name``): the core keeps no list
of them; input that names one is checked where it enters (the config, the store).
"""

from __future__ import annotations

import enum
import re
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal, NewType, TypeAlias

__all__ = [
    "Adapter",
    "Attachment",
    "AttachmentKind",
    "Author",
    "Capabilities",
    "ChatId",
    "ChatRef",
    "Command",
    "CommandAnswer",
    "CommandReply",
    "CommandRequest",
    "DeleteMessage",
    "Delivery",
    "DeliveryError",
    "DeliveryKind",
    "EditMessage",
    "Feature",
    "Inbound",
    "InboundSink",
    "MessageId",
    "NativeId",
    "NewMessage",
    "OutboundDelete",
    "OutboundEdit",
    "OutboundMessage",
    "OutboundReaction",
    "PermanentError",
    "Platform",
    "Reaction",
    "Relayed",
    "RetryableError",
    "RichText",
    "Span",
    "SpanKind",
    "UserId",
    "WakuChatId",
]

Platform: TypeAlias = str
"""A platform's registered name (``"waku"`` or a ``PlatformSpec.name``)."""
_PLATFORM_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")

ChatId = NewType("ChatId", str)
"""A chat as its platform names it: Telegram chat id, Discord channel id, Waku chat name."""
NativeId = NewType("NativeId", str)
"""A message id as its platform names it (unique within one chat)."""
UserId = NewType("UserId", str)
"""A user id as its platform names it (Waku: the signer's public key or address)."""
MessageId = NewType("MessageId", int)
"""The bridge's own id of a relayed message (one per message, across all its copies)."""

WakuChatId = NewType("WakuChatId", str)


@dataclass(frozen=True, slots=True)
class ChatRef:
    """One chat on one platform: the unit that rooms are made of and deliveries go to."""

    platform: Platform
    chat_id: ChatId

    @classmethod
    def waku(cls, chat: WakuChatId) -> ChatRef:
        return cls("waku", ChatId(chat))

    @classmethod
    def parse(cls, text: str) -> ChatRef:
        """``"platform:id"``, the inverse of ``str()`` (the config's ``chats`` entries). Whether
        the platform is one of this build's is the caller's to check (it knows the registry)."""
        platform, sep, chat = text.partition(":")
        if not sep or not chat or _PLATFORM_NAME.fullmatch(platform) is None:
            raise ValueError(f"{text!r} is not platform:id (<platform>:<chat id>)")
        return cls(platform, ChatId(chat))

    def __str__(self) -> str:
        return f"{self.platform}:{self.chat_id}"


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a message, as the source platform shows them."""

    platform: Platform
    user_id: UserId
    display_name: str
    username: str | None = None
    avatar_url: str | None = None
    is_bot: bool = False
    verified: bool = False
    """The bridge's own record holds a verified NFT avatar for exactly this account (set by
    the core from its records, never by an adapter: a name or URL proves nothing)."""


SpanKind = Literal["bold", "italic", "underline", "strike", "spoiler", "code", "pre", "link"]


@dataclass(frozen=True, slots=True)
class Span:
    """One formatting run over ``RichText.text[start:end]``.

    Offsets are Python ``str`` indices (Unicode code points), not UTF-16 units (Telegram) nor
    bytes; converters translate at the edge. ``url`` is set for ``link`` only, ``language``
    (optional) for ``pre`` only. Spans may nest and overlap.
    """

    kind: SpanKind
    start: int
    end: int
    url: str | None = None
    language: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"span [{self.start}, {self.end}) is empty or negative")
        if (self.url is not None) != (self.kind == "link"):
            raise ValueError("a span has a url exactly when it is a link")
        if self.language is not None and self.kind != "pre":
            raise ValueError("only a pre span has a language")


@dataclass(frozen=True, slots=True)
class RichText:
    """Plain text plus formatting spans; the one text type every platform converts to and from."""

    text: str
    spans: tuple[Span, ...] = ()

    def __post_init__(self) -> None:
        for span in self.spans:
            if span.end > len(self.text):
                raise ValueError(f"span {span} runs past the end of a {len(self.text)}-char text")

    @classmethod
    def plain(cls, text: str) -> RichText:
        return cls(text)


AttachmentKind = Literal["photo", "video", "audio", "voice", "animation", "sticker", "file"]


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file carried with a message.

    The bytes are either inline (``data``, for small files) or behind ``url``, which must be
    fetchable by the bridge without the source platform's credentials (a Telegram file URL
    embeds the bot token, so the Telegram adapter passes ``data`` or a bridge-served URL).
    Both are stored with the message, so they survive a restart until delivery.
    """

    kind: AttachmentKind
    filename: str
    mime: str
    size: int | None = None
    url: str | None = None
    data: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.url is None and self.data is None:
            raise ValueError("an attachment needs a url or inline data")


# --- inbound: adapter -> router -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message written in ``source``. ``reply_to`` is the parent's id in the same chat."""

    source: ChatRef
    native_id: NativeId
    author: Author
    text: RichText
    timestamp: datetime
    reply_to: NativeId | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class EditMessage:
    """The author changed the text of ``native_id`` in ``source``."""

    source: ChatRef
    native_id: NativeId
    text: RichText
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class DeleteMessage:
    """``native_id`` was deleted in ``source``."""

    source: ChatRef
    native_id: NativeId


@dataclass(frozen=True, slots=True)
class Reaction:
    """``author`` added or removed ``emoji`` on ``native_id`` (a message as ``source`` knows it)."""

    source: ChatRef
    native_id: NativeId
    emoji: str
    added: bool
    author: Author


@dataclass(frozen=True, slots=True)
class CommandRequest:
    """A bridge command as the command's handler sees it (``bridge.commands``)."""

    name: str
    """Lower-case, without the slash or a ``@botname`` suffix."""
    args: tuple[str, ...]
    raw_args: str
    chat: ChatRef
    author: Author
    is_private: bool = False
    """The command was given in a private chat with the bot."""
    is_admin: bool = False
    """The author is a configured bridge admin for this platform."""
    reply_to: NativeId | None = None
    """The message the command message replies to, in ``chat`` (for /delete, /post)."""
    native_id: NativeId | None = None
    """The command message itself, where the platform has one."""
    options: dict[str, str] = field(default_factory=dict)
    """Named arguments (Discord slash options); adapters also fill ``args`` in option order."""


@dataclass(frozen=True, slots=True)
class CommandReply:
    text: str
    """Plain text; the adapter escapes it for the platform."""
    private: bool = False


CommandAnswer = Callable[[CommandReply], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Command:
    """Someone gave a bridge command (``/help``, a slash command, ``!help``) in ``source``.

    Unlike the other events it is not relayed: the sink runs it and calls ``answer`` once with
    the reply, which the adapter shows the platform's way (a reply in the chat, a private
    message, an ephemeral answer). ``answer`` must not raise.
    """

    request: CommandRequest
    answer: CommandAnswer = field(compare=False, repr=False)

    @property
    def source(self) -> ChatRef:
        return self.request.chat


Relayed = NewMessage | EditMessage | DeleteMessage | Reaction
"""The inbound events the router records and fans out (``Router.handle``)."""
Inbound = Relayed | Command
InboundSink = Callable[[Inbound], Awaitable[None]]
"""The router's entry point. It returns once the event is committed to disk (or ignored); an
adapter that awaits it before acknowledging a platform update loses nothing on a crash. A
``Command`` is answered before it returns."""


# --- outbound: outbox -> adapter ------------------------------------------------------------

DeliveryKind = Literal["send", "edit", "delete", "react"]


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """Post a copy of a message into ``target``.

    ``reply_to`` is the parent's id *in target* (resolved through the id map), or None when the
    message is not a reply or the parent never reached ``target``. ``idempotency_key`` is the
    same on every attempt of this delivery, including attempts after a restart.
    """

    kind: ClassVar[DeliveryKind] = "send"
    target: ChatRef
    idempotency_key: str
    room: str
    source: ChatRef
    author: Author
    text: RichText
    sent_at: datetime
    reply_to: NativeId | None = None
    attachments: tuple[Attachment, ...] = ()

    @property
    def is_announcement(self) -> bool:
        """The bridge speaking in a chat itself (a relayed message never targets its source):
        adapters post it as the bot, without a relayed author's name in front."""
        return self.source == self.target


@dataclass(frozen=True, slots=True)
class OutboundEdit:
    """Replace the text of ``native_id`` (the bridge's copy in ``target``)."""

    kind: ClassVar[DeliveryKind] = "edit"
    target: ChatRef
    idempotency_key: str
    native_id: NativeId
    room: str
    source: ChatRef
    author: Author
    text: RichText


@dataclass(frozen=True, slots=True)
class OutboundDelete:
    """Delete ``native_id`` in ``target``. Deleting an already deleted message must succeed."""

    kind: ClassVar[DeliveryKind] = "delete"
    target: ChatRef
    idempotency_key: str
    native_id: NativeId


@dataclass(frozen=True, slots=True)
class OutboundReaction:
    """``author`` (a user elsewhere) added or removed ``emoji`` on ``native_id`` in ``target``."""

    kind: ClassVar[DeliveryKind] = "react"
    target: ChatRef
    idempotency_key: str
    native_id: NativeId
    emoji: str
    added: bool
    author: Author
    counts: tuple[tuple[str, int], ...] | None = None
    """Everyone's reactions made outside ``target``, (emoji, people), most used first (ties:
    most recent first); ``added`` says whether ``emoji`` is among them. None in rows queued
    by an older bridge (then ``added`` is just this one person's change)."""


Delivery = OutboundMessage | OutboundEdit | OutboundDelete | OutboundReaction


# --- the adapter contract -------------------------------------------------------------------


class DeliveryError(Exception):
    """An adapter could not carry out a delivery; the subclass tells the outbox what to do."""


class RetryableError(DeliveryError):
    """Try again later: 429, 5xx, a timeout, the connection is down.

    ``retry_after`` (seconds) is honoured exactly when the platform said how long to wait;
    otherwise the outbox backs off exponentially with jitter.
    """

    def __init__(self, reason: str = "", retry_after: float | None = None) -> None:
        super().__init__(reason or "retryable delivery error")
        self.reason = reason
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """Never retry: 400-class errors, forbidden, too big, unsupported. The row is failed."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Feature(enum.Flag):
    """What a platform can do with a delivery; the outbox skips what the target cannot."""

    NONE = 0
    EDIT = enum.auto()
    DELETE = enum.auto()
    REPLY = enum.auto()
    REACT = enum.auto()
    IDENTITY = enum.auto()
    """Each message can show its own author name and avatar (Discord webhooks, Status)."""
    ATTACHMENTS = enum.auto()
    PRIVATE_MESSAGES = enum.auto()
    """The bot can message one user privately (``Adapter.send_private``)."""
    PROFILE_PHOTOS = enum.auto()
    """The bot can fetch its users' profile photos (``Adapter.profile_photo``)."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    features: Feature
    max_text_length: int
    """In code points; longer text is the adapter's to truncate or split."""

    def __contains__(self, feature: Feature) -> bool:
        return feature in self.features


class Adapter(ABC):
    """One platform's bot. Subclass it in ``bots/`` and implement the abstract members.

    Lifecycle: ``start(sink)`` connects and begins calling ``sink`` with every inbound event
    (awaiting it: it returns once the event is durable); ``stop()`` disconnects.
    The adapter must drop its own echoes (messages, edits and reactions the bridge itself
    made) before they reach ``sink``: the echo can arrive before ``send`` has returned, so the
    router's id-map check alone cannot catch it.

    Delivery methods are called by the outbox, one at a time per target chat, in order. They
    raise ``RetryableError`` or ``PermanentError``; any other exception counts as retryable.
    ``send`` returns the native id of the posted message: the same id the adapter would report
    for that message in inbound events (the router uses it for replies, edits and loops).
    """

    platform: ClassVar[Platform]
    capabilities: ClassVar[Capabilities]

    @abstractmethod
    async def start(self, sink: InboundSink) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    def is_connected(self) -> bool:
        """False while the outbox should hold deliveries back (no attempts are counted)."""

    def hold_reason(self, chat: ChatRef) -> str | None:
        """Why deliveries to ``chat`` must wait although the adapter is connected (a Status
        community that has not admitted the bridge yet), or None. Held rows spend no attempts."""
        return None

    @abstractmethod
    async def send(self, delivery: OutboundMessage) -> NativeId: ...

    async def edit(self, delivery: OutboundEdit) -> None:
        raise PermanentError(f"{self.platform} cannot edit")

    async def delete(self, delivery: OutboundDelete) -> None:
        raise PermanentError(f"{self.platform} cannot delete")

    async def react(self, delivery: OutboundReaction) -> None:
        raise PermanentError(f"{self.platform} cannot react")

    async def recover(self, delivery: OutboundMessage) -> NativeId | None:
        """Was ``delivery`` already posted by an attempt cut short by a crash?

        Called once, after a restart, for a send that was in flight. Return the native id if
        the platform shows the message (found by ``idempotency_key``), else None, and the
        outbox sends again. The default cannot tell, which makes such a send at-least-once.
        """
        return None

    # Optional abilities. The core calls these on every adapter: the defaults are what a
    # platform without the ability does, so nothing in the core needs to probe for them.

    @property
    def last_error(self) -> str | None:
        """Why the adapter is (or was last) unhealthy, in words for /health and /room status;
        None when there is nothing to say."""
        return None

    def status_detail(self) -> str | None:
        """One line of platform-specific state for /health (appended to the connection state),
        or None."""
        return None

    def chat_detail(self, chat: ChatRef) -> str | None:
        """One line about ``chat``'s state on the platform for /rooms and /room status (a
        community's admission, say), or None."""
        return None

    def join_chat(self, chat: ChatRef) -> None:
        """``chat`` was added to a room at run time (``/room join``): serve it from now on.
        The default does nothing, for adapters that serve whatever chats they are in."""
        return None

    def leave_chat(self, chat: ChatRef) -> None:
        """``chat`` left its room at run time: stop serving it. The default does nothing."""
        return None

    async def send_private(self, user_id: str, text: str) -> bool:
        """Send ``text`` (plain) to one user privately; True once sent. False when the platform
        refuses or cannot (the default; declare ``Feature.PRIVATE_MESSAGES`` when overriding).
        Never raises for a refusal."""
        return False

    async def say_in_chat(self, chat_id: str, text: str) -> bool:
        """Post ``text`` (plain) as the bot in a chat outside any room (a private chat where a
        command was given); True once posted, False when it cannot (the default)."""
        return False

    async def profile_photo(self, user_id: str) -> bytes | None:
        """The user's current profile photo as image bytes, or None when they have none (the
        default; declare ``Feature.PROFILE_PHOTOS`` when overriding). Raises on a failure worth
        trying again later."""
        return None
