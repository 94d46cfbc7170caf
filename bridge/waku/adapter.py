"""The Waku adapter: the bridge's presence in Waku rooms, speaking Status's public-chat format.

Outbound, every relayed message becomes a Status ``ChatMessage`` with content type
``BRIDGE_MESSAGE`` (the remote author's name, avatar and id ride in ``BridgeMessage``), signed
twice with the bridge's identity key (Status app layer and Waku payload), AES-256-GCM encrypted
with the room key and published on the room's content topic (docs/PROTOCOL.md §10). Edits, deletes
and reactions are Status's own ``EditMessage`` / ``DeleteMessage`` / ``EmojiReaction``.

Inbound, every Waku message is hostile until proven otherwise: it must decrypt with the key of
a room listening on its content topic, carry a Waku-level signature (status-go drops unsigned
ones), parse as a Status message that passes status-go's receive rules (its author is the
app-level signer, as in status-go), and name the room's chat id. Whatever fails is counted in
``stats`` and dropped; nothing raises out of the handler. The bridge's own publishes come back
from the node and are dropped by signer.

Community rooms (``status_community``; bridge/waku/community.py) add status-go's community
rules on top: the bridge posts only while the newest CommunityDescription lets its key post in
the channel (deliveries are held until then, see ``hold_reason``), publishes on the community's
universal topic (SDS-wrapped) and on the channel's own topic (plain), and relays only messages
from current, non-banned members with a display name status-go accepts.

Choices worth knowing (also in the README):

- Text longer than Status's 4096 code points is truncated with a notice, not split: one
  relayed message stays one Status message, so edits, deletes and replies keep working.
- Files are not carried to Waku; each attachment becomes a line ``[photo: name] url``.
- Status applies an edit only when its signer wrote the target, and a delete also from a
  community's owner, admins and token masters; the adapter does the same for the platforms,
  checking the target's author in the router's id map.
- Status offers six reactions; other emoji are not relayed to Waku.
- Lamport clocks (per chat) and the last Waku timestamp seen (per content topic) live in the
  store's ``kv`` table, so clocks keep increasing across restarts and a restart catches up on
  what was published meanwhile (store v3 query, from last seen minus a margin).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar, Final

from bridge.formatting import to_plain
from bridge.model import (
    Adapter,
    Attachment,
    Author,
    Capabilities,
    ChatId,
    ChatRef,
    DeleteMessage,
    EditMessage,
    Feature,
    Inbound,
    InboundSink,
    NativeId,
    NewMessage,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    PermanentError,
    Platform,
    Reaction,
    RetryableError,
    RichText,
    UserId,
)
from bridge.names import clean_name
from bridge.status import (
    DEFAULT_CLUSTER_ID,
    DEFAULT_SHARD,
    MAX_CLOCK_DRIFT_MS,
    MAX_TEXT_LENGTH,
    AppMessageType,
    BridgeMessageFields,
    ChatMessageFields,
    ChatType,
    ContentType,
    DeleteMessageFields,
    EditMessageFields,
    EmojiReactionFields,
    ReactionType,
    StatusDecodeError,
    StatusEnvelope,
    build_bridge_chat_message,
    build_delete_message,
    build_edit_message,
    build_emoji_reaction,
    build_status_payload,
    chat_key,
    chat_topic,
    legacy_channel_chat_id,
    message_id_hex,
    next_clock,
    parse_status_payload,
    universal_chat_id,
)
from bridge.status.names import valid_display_name
from bridge.store import Store, kv, messages
from bridge.store.group_commit import GroupCommit
from bridge.tasks import cancel_and_wait
from bridge.waku.community import Communities, CommunityRoom
from bridge.waku.message import MAX_MESSAGE_SIZE, WakuMessage, message_hash
from bridge.waku.node import HistoryQuery, NodeError, ReceivedMessage, WakuNode
from crypto.keccak import keccak256
from crypto.keys import public_key, to_address
from crypto.payload import Decoded, DecryptionError, decrypt_symmetric, encrypt_symmetric

__all__ = [
    "DEFAULT_PUBSUB_TOPIC",
    "WakuAdapter",
    "WakuRoomConfig",
    "emoji_for_reaction",
    "reaction_for_emoji",
]

log = logging.getLogger(__name__)

DEFAULT_PUBSUB_TOPIC: Final = f"/waku/2/rs/{DEFAULT_CLUSTER_ID}/{DEFAULT_SHARD}"

_NS_PER_MS = 1_000_000
_NS_PER_S = 1_000_000_000
# Relays drop WakuMessages over 150 KiB; staying far below leaves room for other encoders'
# overhead. Field bounds keep a bridged message under ~40 KiB, so this only guards mistakes.
_MAX_PUBLISH_SIZE = 100 * 1024
_TRUNCATED: Final = "… [truncated]"
_EMPTY: Final = "[empty message]"
# Builder limits (bridge.status.chat) and what Status shows comfortably.
_MAX_NAME = 100
_MAX_ID = 256
_MAX_URL = 2048
_STATUS_ID = re.compile(r"0x[0-9a-f]{64}")
_RECENT_HASHES = 4096
_KNOWN_NAMES = 1024
_HISTORY_PAGE = 100
_STOP_TIMEOUT = 10.0
# Persisting the last-seen timestamp on every message would be a write per message; losing a
# few seconds of it on a crash only makes the next catch-up re-read (the router de-duplicates).
_SEEN_FLUSH_NS = 5 * _NS_PER_S
# Shown instead of text for Status content types that carry no text of their own.
_PLACEHOLDERS: Final[dict[int, str]] = {
    ContentType.IMAGE: "[image]",
    ContentType.STICKER: "[sticker]",
    ContentType.AUDIO: "[audio message]",
}


# --- reactions -------------------------------------------------------------------------------

_SKIN_TONES = range(0x1F3FB, 0x1F400)
_TO_STATUS: Final[dict[str, ReactionType]] = {
    "❤": ReactionType.LOVE,
    "♥": ReactionType.LOVE,
    "😍": ReactionType.LOVE,
    "🥰": ReactionType.LOVE,
    "👍": ReactionType.THUMBS_UP,
    "👎": ReactionType.THUMBS_DOWN,
    "😂": ReactionType.LAUGH,
    "🤣": ReactionType.LAUGH,
    "😆": ReactionType.LAUGH,
    "😢": ReactionType.SAD,
    "😭": ReactionType.SAD,
    "😞": ReactionType.SAD,
    "😡": ReactionType.ANGRY,
    "😠": ReactionType.ANGRY,
    "🤬": ReactionType.ANGRY,
}
_FROM_STATUS: Final[dict[int, str]] = {
    ReactionType.LOVE: "❤️",
    ReactionType.THUMBS_UP: "👍",
    ReactionType.THUMBS_DOWN: "👎",
    ReactionType.LAUGH: "😂",
    ReactionType.SAD: "😢",
    ReactionType.ANGRY: "😡",
}


def reaction_for_emoji(emoji: str) -> ReactionType | None:
    """Status's reaction for ``emoji`` (variation selectors and skin tones ignored), or None."""
    bare = "".join(ch for ch in emoji if ch != "\ufe0f" and ord(ch) not in _SKIN_TONES)
    return _TO_STATUS.get(bare)


def emoji_for_reaction(reaction: int) -> str | None:
    return _FROM_STATUS.get(reaction)


# --- configuration ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WakuRoomConfig:
    """One Waku room.

    ``chat_id`` is the Status chat id: written into every ``ChatMessage.chat_id`` and, unless
    ``topic_chat_id`` says otherwise, the source of the content topic and of the PBKDF2 key.
    ``key`` (32 bytes) replaces the PBKDF2 key with a private random one: only holders of the
    key can read or write the room. ``chat_type`` defaults to ``COMMUNITY_CHAT``, what current
    Status clients render (``PUBLIC_GROUP`` public chats are gone from the apps).
    ``topic_chat_id`` is for community channels: newer status-go sends every channel of a
    community on one "universal" chat id's topic (``universal_chat_id``) while each message
    still names its channel in ``chat_id``; the adapter then sends there and listens on both.
    """

    chat_id: str
    pubsub_topic: str = DEFAULT_PUBSUB_TOPIC
    key: bytes | None = field(default=None, repr=False)
    chat_type: ChatType = ChatType.COMMUNITY_CHAT
    topic_chat_id: str | None = None
    # A Status community channel (``status_community``): ``chat_id`` is then only the router's
    # name for the room; the Status chat id is the community id + the channel's UUID.
    community: CommunityRoom | None = None

    def __post_init__(self) -> None:
        chat_topic(self.chat_id)  # validates the chat id
        if self.topic_chat_id is not None:
            chat_topic(self.topic_chat_id)
        if self.key is not None and len(self.key) != 32:
            raise ValueError("a room key must be 32 bytes")
        if self.chat_type not in (ChatType.COMMUNITY_CHAT, ChatType.PUBLIC_GROUP):
            raise ValueError("chat_type must be COMMUNITY_CHAT or PUBLIC_GROUP")
        if not self.pubsub_topic.startswith("/waku/2/rs/"):
            raise ValueError("pubsub_topic must be a static shard /waku/2/rs/<cluster>/<shard>")


@dataclass(slots=True)
class _Room:
    ref: ChatRef
    config: WakuRoomConfig
    send_topic: str
    send_key: bytes
    listen: tuple[tuple[str, bytes], ...]  # (content topic, key), the send pair first
    last_clock: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Community rooms: the Status chat id once the channel's UUID is known, and every
    # (content topic, key) a message is published on (universal topic first).
    status_chat: str | None = None
    # (content topic, key, SDS-wrapped?)
    sends: list[tuple[str, bytes, bool]] = field(default_factory=list)

    @property
    def chat_id(self) -> str:
        """What ``ChatMessage.chat_id`` says in this room."""
        if self.config.community is None:
            return self.config.chat_id
        return self.status_chat or ""


@dataclass(slots=True)
class _Seen:
    """The newest Waku timestamp handled on one content topic (ns)."""

    pubsub_topic: str
    value: int | None = None
    flushed: int | None = None
    flushed_at: int = 0
    # Set while history before ``value`` may still be unhandled (a catch-up running or cut
    # short): persisting ``value`` then would make the next catch-up skip that history.
    hold: bool = False
    # Nothing was ever persisted: the first start relays from now on, not the whole history.
    fresh: bool = False


def _clean(text: str, limit: int) -> str:
    """One line of visible text without check marks (``bridge.names``), bounded."""
    return clean_name(text)[:limit].strip()


def _http_url(url: str | None) -> str:
    if url and len(url) <= _MAX_URL and url.startswith(("https://", "http://")):
        return url
    return ""


def _bounded_id(value: str) -> str:
    # Ids travel to Status verbatim when they fit; a longer one is replaced by its hash so that
    # it stays stable (an equal id must still mean the same message).
    return value if len(value) <= _MAX_ID else "0x" + keccak256(value.encode()).hex()


def _truncate(text: str, limit: int = MAX_TEXT_LENGTH) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - len(_TRUNCATED)].rstrip() + _TRUNCATED


def _attachment_line(attachment: Attachment) -> str:
    name = _clean(attachment.filename, _MAX_NAME) or attachment.kind
    url = _http_url(attachment.url)
    return f"[{attachment.kind}: {name}]" + (f" {url}" if url else "")


def _derive_installation_id(pub: bytes) -> str:
    # status-go installation ids are UUIDv4 strings; derive one from the key so that it stays
    # the same across restarts without any state.
    raw = bytearray(keccak256(b"parley/installation-id/" + pub)[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


class WakuAdapter(Adapter):
    """The bridge in Waku rooms (platform ``"waku"``; a chat id is the room's Status chat id)."""

    platform: ClassVar[Platform] = "waku"
    capabilities: ClassVar[Capabilities] = Capabilities(
        features=Feature.EDIT | Feature.DELETE | Feature.REPLY | Feature.REACT | Feature.IDENTITY,
        max_text_length=MAX_TEXT_LENGTH,
    )

    def __init__(
        self,
        *,
        node: WakuNode,
        store: Store,
        identity_key: bytes,
        rooms: Mapping[str, WakuRoomConfig],
        bridge_name: str = "parley",
        installation_id: str | None = None,
        catch_up_margin: float = 600.0,
        max_catch_up: float = 7 * 24 * 3600.0,
        max_catch_up_pages: int = 100,
        health_interval: float = 5.0,
        clock: Callable[[], int] = time.time_ns,
        on_stat: Callable[[str], None] | None = None,
    ) -> None:
        """``rooms`` maps the chat id the router knows (``ChatRef.chat_id``, the config's
        ``waku_chat``) to the room's settings.

        After a restart the adapter re-reads history from the last Waku timestamp it handled
        minus ``catch_up_margin`` seconds, at most ``max_catch_up`` seconds back and
        ``max_catch_up_pages`` store pages per content topic. ``clock`` returns Unix ns.
        """
        self._node = node
        self._store = store
        self._writes = GroupCommit(store)
        self._key = identity_key
        self._public = public_key(identity_key)
        self._bridge_name = _clean(bridge_name, _MAX_NAME) or "parley"
        self._installation_id = installation_id or _derive_installation_id(self._public)
        self._configs = dict(rooms)
        self._margin_ns = int(catch_up_margin * _NS_PER_S)
        self._max_catch_up_ns = int(max_catch_up * _NS_PER_S)
        self._max_pages = max_catch_up_pages
        self._health_interval = health_interval
        self._clock = clock
        self._rooms: dict[ChatId, _Room] | None = None
        self._resolve_lock = asyncio.Lock()
        # content topic -> the (room, key) pairs listening on it
        self._by_topic: dict[str, list[tuple[_Room, bytes]]] = {}
        self._seen: dict[str, _Seen] = {}
        self._recent: OrderedDict[bytes, None] = OrderedDict()
        self._names: OrderedDict[bytes, str] = OrderedDict()
        self._inbound_lock = asyncio.Lock()
        self._sink: InboundSink | None = None
        self._running = False
        self._connected = False
        self._health_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.stats: Counter[str] = Counter()
        # Lets the app mirror ``stats`` into its metrics without polling them.
        self._on_stat = on_stat
        """Inbound outcomes by reason (``relayed``, ``own``, ``undecryptable``, ...)."""
        community_rooms = {
            name: config.community
            for name, config in self._configs.items()
            if config.community is not None
        }
        self.communities: Communities | None = None
        if community_rooms:
            self.communities = Communities(
                node=node,
                store=store,
                identity_key=identity_key,
                # Validated at config time against status-go's display-name rule.
                display_name=bridge_name.strip(),
                rooms=community_rooms,
                clock=clock,
                on_change=self._community_changed,
            )

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        if self.communities is not None:
            await self.communities.load()
        rooms = await self._resolve()
        self._sink = sink
        self._running = True
        self._stopping = asyncio.Event()
        pubsub_topics = sorted(
            {room.config.pubsub_topic for room in rooms.values()}
            | {
                t
                for room in rooms.values()
                if room.config.community
                for t in room.config.community.also_listen
            }
        )
        if pubsub_topics:
            await self._node.subscribe(pubsub_topics, self._on_message)
        self._connected = await self._health()
        # Subscribed first, so nothing published from now on can fall between history and live.
        await self._catch_up()
        if self.communities is not None:
            await self.communities.start()
            for name in self.communities.rooms:
                refusal = self.communities.refusal(name)
                if refusal is not None:
                    log.error("Status room %s refused: %s", name, refusal)
        self._health_task = asyncio.create_task(self._health_loop(), name="waku-adapter-health")

    async def stop(self) -> None:
        # No unsubscribe: WakuNode.unsubscribe is per topic, not per handler, and would cut off
        # other subscribers of the same shard. The handler ignores messages while stopped; the
        # next start catches up on them from the store.
        self._running = False
        self._connected = False
        self._stopping.set()
        if self.communities is not None:
            await self.communities.stop()
        if self._health_task is not None:
            # Asked, not cancelled: a catch-up may be inside a store transaction, and a
            # cancellation there can leave it open. It stops after the message at hand.
            done, _ = await asyncio.wait({self._health_task}, timeout=_STOP_TIMEOUT)
            if not done:
                await cancel_and_wait(self._health_task)
            self._health_task = None
        async with self._inbound_lock:
            for content_topic in self._seen:
                await self._flush_seen(content_topic, force=True)

    def is_connected(self) -> bool:
        return self._running and self._connected

    def hold_reason(self, chat: ChatRef) -> str | None:
        if self.communities is None or chat.chat_id not in self.communities.rooms:
            return None
        return self.communities.hold_reason(chat.chat_id)

    async def _health(self) -> bool:
        try:
            return (await self._node.health()).ready
        except Exception as exc:  # a node that cannot even say how it is, is not ready
            log.debug("waku node health check failed: %s", exc)
            return False

    async def _health_loop(self) -> None:
        while self._running:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._health_interval):
                    await self._stopping.wait()
            if not self._running:
                return
            ready = await self._health()
            if ready and not self._connected:
                log.info("waku node is ready again; catching up on history")
                self._connected = True
                await self._catch_up()
            self._connected = ready

    async def _resolve(self) -> dict[ChatId, _Room]:
        """Derive topics and keys (PBKDF2 off the event loop) and load the persisted state."""
        async with self._resolve_lock:
            if self._rooms is not None:
                return self._rooms
            rooms: dict[ChatId, _Room] = {}
            for name, config in self._configs.items():
                if config.community is not None:
                    rooms[ChatId(name)] = await self._community_room(name, config)
                    continue
                topic_chat = config.topic_chat_id or config.chat_id
                pairs: list[tuple[str, bytes]] = []
                for chat in dict.fromkeys((topic_chat, config.chat_id)):
                    key = config.key
                    if key is None:
                        key = await asyncio.to_thread(chat_key, chat)
                    pairs.append((chat_topic(chat), key))
                    if config.key is not None:
                        break  # a private room lives on one topic only
                room = _Room(
                    ref=ChatRef("waku", ChatId(name)),
                    config=config,
                    send_topic=pairs[0][0],
                    send_key=pairs[0][1],
                    listen=tuple(pairs),
                )
                room.last_clock = await kv.get_int(self._store.db, self._clock_key(room)) or 0
                rooms[room.ref.chat_id] = room
                for content_topic, key in room.listen:
                    await self._listen(room, content_topic, key)
            self._rooms = rooms
            return rooms

    async def _listen(self, room: _Room, content_topic: str, key: bytes) -> None:
        self._by_topic.setdefault(content_topic, []).append((room, key))
        if content_topic not in self._seen:
            seen = _Seen(room.config.pubsub_topic)
            seen.value = seen.flushed = await kv.get_int(
                self._store.db, self._seen_key(content_topic)
            )
            seen.fresh = seen.flushed is None
            self._seen[content_topic] = seen

    async def _community_room(self, name: str, config: WakuRoomConfig) -> _Room:
        """A community channel room: current status-go members listen on the community's
        universal topic (``<community id>-memberUpdate``); status-go up to c72f491 on the
        channel's own topic (``<community id><channel UUID>``). The bridge sends on both
        (status-go de-duplicates by message id): SDS-wrapped on the universal topic as current
        status-go sends, plain on the channel topic, which only pre-SDS clients read. It
        listens on both."""
        community = config.community
        assert community is not None
        universal = universal_chat_id(community.community_id)
        pair = (chat_topic(universal), await asyncio.to_thread(chat_key, universal))
        room = _Room(
            ref=ChatRef("waku", ChatId(name)),
            config=config,
            send_topic=pair[0],
            send_key=pair[1],
            listen=(pair,),
            sends=[(*pair, True)],
        )
        room.last_clock = await kv.get_int(self._store.db, self._clock_key(room)) or 0
        await self._listen(room, *pair)
        await self._attach_channel(room)
        return room

    async def _attach_channel(self, room: _Room) -> None:
        """Once the channel's UUID is known: its chat id and its own (older) topic."""
        if self.communities is None or room.status_chat is not None:
            return
        community = room.config.community
        uuid = self.communities.channel_uuid(room.ref.chat_id)
        if community is None or uuid is None:
            return
        chat = legacy_channel_chat_id(community.community_id, uuid)
        pair = (chat_topic(chat), await asyncio.to_thread(chat_key, chat))
        room.status_chat = chat
        room.sends.append((*pair, False))
        room.listen = (*room.listen, pair)
        await self._listen(room, *pair)

    async def _community_changed(self) -> None:
        for room in (self._rooms or {}).values():
            if room.config.community is not None:
                await self._attach_channel(room)

    @staticmethod
    def _clock_key(room: _Room) -> str:
        return f"waku.clock.{room.config.chat_id}"

    @staticmethod
    def _seen_key(content_topic: str) -> str:
        return f"waku.last_seen.{content_topic}"

    # --- outbound -----------------------------------------------------------------------

    async def _room(self, chat: ChatRef) -> _Room:
        rooms = await self._resolve()
        room = rooms.get(chat.chat_id) if chat.platform == "waku" else None
        if room is None:
            raise PermanentError(f"{chat} is not a configured Waku room")
        return room

    def _content(self, text: RichText, attachments: Sequence[Attachment] = ()) -> str:
        lines = [to_plain(text).strip()]
        lines += [_attachment_line(a) for a in attachments]
        content = "\n".join(line for line in lines if line)
        return _truncate(content) if content.strip() else _EMPTY

    @staticmethod
    def _user_name(author: Author) -> str:
        return (
            _clean(author.display_name, _MAX_NAME)
            or _clean(author.username or "", _MAX_NAME)
            or _clean(author.user_id, _MAX_NAME)
            or "unknown"
        )

    @staticmethod
    def bridge_message_id(delivery: OutboundMessage) -> str:
        """``BridgeMessage.messageID`` of a delivery: stable across attempts and restarts."""
        source = delivery.source
        return _bounded_id(f"{source.platform}:{source.chat_id}:{delivery.idempotency_key}")

    @staticmethod
    def _target(native_id: str) -> str:
        if not _STATUS_ID.fullmatch(native_id):
            raise PermanentError(f"{native_id!r} is not a Status message id")
        return native_id

    async def send(self, delivery: OutboundMessage) -> NativeId:
        room = await self._room(delivery.target)
        author = delivery.author
        bridge = BridgeMessageFields(
            bridge_name=_clean(delivery.source.platform, _MAX_NAME),
            user_name=self._user_name(author),
            content=self._content(delivery.text, delivery.attachments),
            user_avatar=_http_url(author.avatar_url),
            user_id=_bounded_id(author.user_id),
            message_id=self.bridge_message_id(delivery),
        )
        reply_to = delivery.reply_to or ""
        response_to = reply_to if _STATUS_ID.fullmatch(reply_to) else ""

        def build(clock: int, now_ms: int) -> bytes:
            return build_bridge_chat_message(
                chat_id=room.chat_id,
                bridge=bridge,
                clock=clock,
                timestamp_ms=now_ms,
                chat_type=room.config.chat_type,
                response_to=response_to,
                display_name=self._bridge_name,
            )

        return NativeId(await self._publish(room, AppMessageType.CHAT_MESSAGE, build))

    async def edit(self, delivery: OutboundEdit) -> None:
        room = await self._room(delivery.target)
        target = self._target(delivery.native_id)
        text = self._content(delivery.text)

        def build(clock: int, now_ms: int) -> bytes:
            # A BRIDGE_MESSAGE edit replaces BridgeMessage.content: our copies are all bridged.
            return build_edit_message(
                chat_id=room.chat_id,
                target_id=target,
                text=text,
                clock=clock,
                chat_type=room.config.chat_type,
                content_type=ContentType.BRIDGE_MESSAGE,
            )

        await self._publish(room, AppMessageType.EDIT_MESSAGE, build)

    async def delete(self, delivery: OutboundDelete) -> None:
        room = await self._room(delivery.target)
        target = self._target(delivery.native_id)

        def build(clock: int, now_ms: int) -> bytes:
            return build_delete_message(
                chat_id=room.chat_id,
                target_id=target,
                clock=clock,
                chat_type=room.config.chat_type,
            )

        await self._publish(room, AppMessageType.DELETE_MESSAGE, build)

    async def react(self, delivery: OutboundReaction) -> None:
        room = await self._room(delivery.target)
        target = self._target(delivery.native_id)
        reaction = reaction_for_emoji(delivery.emoji)
        if reaction is None:
            return  # Status has no such reaction; nothing to show there

        def build(clock: int, now_ms: int) -> bytes:
            return build_emoji_reaction(
                chat_id=room.chat_id,
                target_id=target,
                emoji=reaction,
                clock=clock,
                chat_type=room.config.chat_type,
                retracted=not delivery.added,
            )

        await self._publish(room, AppMessageType.EMOJI_REACTION, build)

    async def _publish(
        self, room: _Room, message_type: AppMessageType, build: Callable[[int, int], bytes]
    ) -> str:
        """Sign, encrypt and publish one Status message; returns its Status id."""
        sds = None
        if self.communities is not None and room.config.community is not None:
            name = room.ref.chat_id
            refusal = self.communities.refusal(name)
            if refusal is not None:
                raise PermanentError(refusal)
            waiting = self.communities.hold_reason(name)
            if waiting is not None or not room.status_chat:
                raise RetryableError(waiting or "the channel is not known yet")
            communities = self.communities

            def sds(app: bytes) -> bytes:
                return communities.sds_wrap(name, app)

        async with room.lock:
            now_ns = self._clock()
            now_ms = now_ns // _NS_PER_MS
            clock = next_clock(room.last_clock, now_ms)
            try:
                inner = build(clock, now_ms)
                out = build_status_payload(inner, message_type, self._key, self._installation_id)
                # Deterministic (RFC 6979) signatures: the same ApplicationMetadataMessage, so
                # the same Status message id, plain and wrapped.
                wrapped = (
                    out
                    if sds is None
                    else build_status_payload(
                        inner, message_type, self._key, self._installation_id, sds
                    )
                )
            except (ValueError, TypeError) as exc:
                raise PermanentError(f"cannot build the Status message: {exc}") from exc
            sends = room.sends or [(room.send_topic, room.send_key, False)]
            copies = [
                WakuMessage(
                    payload=encrypt_symmetric(
                        (wrapped if use_sds else out).payload, key, signing_key=self._key
                    ),
                    content_topic=topic,
                    version=1,
                    timestamp=now_ns,
                )
                for topic, key, use_sds in sends
            ]
            message = copies[0]
            size = len(message.encode())
            if size > _MAX_PUBLISH_SIZE:
                raise PermanentError(f"the Waku message would be {size} bytes")
            # Persisted before publishing: a crash after the publish must never reuse a clock.
            # Concurrent publishes to other rooms share the commit (group commit).
            clock_key = self._clock_key(room)
            await self._writes.run(lambda db: kv.set(db, clock_key, clock))
            room.last_clock = clock
            for index, copy in enumerate(copies):
                digest = message_hash(room.config.pubsub_topic, copy)
                # Our echo may come back before publish returns; known hashes are skipped.
                self._remember(digest)
                try:
                    await self._node.publish(room.config.pubsub_topic, copy)
                except NodeError as exc:
                    self._recent.pop(digest, None)
                    self._count("publish_error")
                    if index == 0:
                        raise RetryableError(f"waku publish failed: {exc}") from exc
                    # The universal topic has it: current clients see it; older ones miss it.
                    log.warning("waku publish on the per-channel topic failed: %s", exc)
            return message_id_hex(out.message_id)

    async def recover(self, delivery: OutboundMessage) -> NativeId | None:
        """Find our copy of ``delivery`` in the node's history by its BridgeMessage.messageID."""
        room = await self._room(delivery.target)
        wanted = self.bridge_message_id(delivery)
        sent_ns = int(delivery.sent_at.timestamp() * _NS_PER_S)
        query = HistoryQuery(
            pubsub_topic=room.config.pubsub_topic,
            content_topics=[room.send_topic],
            start_time=max(sent_ns - self._margin_ns, self._clock() - self._max_catch_up_ns),
            page_size=_HISTORY_PAGE,
        )
        try:
            for _ in range(self._max_pages):
                page = await self._node.query(query)
                for received in page.messages:
                    found = self._own_bridge_message(received.message, room.send_key, wanted)
                    if found is not None:
                        return NativeId(found)
                if page.cursor is None:
                    break
                query = HistoryQuery(
                    pubsub_topic=query.pubsub_topic,
                    content_topics=query.content_topics,
                    start_time=query.start_time,
                    cursor=page.cursor,
                    page_size=_HISTORY_PAGE,
                )
        except NodeError as exc:
            log.warning("cannot look for an in-doubt send in the Waku store: %s", exc)
        return None

    def _own_bridge_message(self, message: WakuMessage, key: bytes, wanted: str) -> str | None:
        try:
            decoded = decrypt_symmetric(message.payload, key)
            if decoded.signer != self._public:
                return None
            envelope = parse_status_payload(decoded.payload)
        except (DecryptionError, StatusDecodeError):
            return None
        content = envelope.content
        if (
            isinstance(content, ChatMessageFields)
            and content.bridge is not None
            and content.bridge.message_id == wanted
        ):
            return envelope.message_id_hex
        return None

    # --- inbound ------------------------------------------------------------------------

    def _remember(self, digest: bytes) -> None:
        self._recent[digest] = None
        self._recent.move_to_end(digest)
        if len(self._recent) > _RECENT_HASHES:
            self._recent.popitem(last=False)

    async def _on_message(self, received: ReceivedMessage) -> None:
        """The node's handler for live messages."""
        if not self._running:
            return  # left for the next start's catch-up
        async with self._inbound_lock:
            await self._process(received)

    async def _process(self, received: ReceivedMessage) -> None:
        """Handle one message from the node (live or history); never raises."""
        if received.hash in self._recent:
            self._count("repeated")
            return
        try:
            event = await self._decode(received)
            if event is not None and self._sink is not None:
                await self._sink(event)
                self._count("relayed")
        except Exception:
            # The sink failed (the store?): leave the message unseen so a later catch-up retries.
            self._count("failed")
            log.exception("waku message 0x%s could not be handled", received.hash.hex())
            return
        self._remember(received.hash)
        await self._advance_seen(received.message)

    def _count(self, outcome: str) -> None:
        self.stats[outcome] += 1
        if self._on_stat is not None:
            self._on_stat(outcome)

    def _drop(self, reason: str, received: ReceivedMessage) -> None:
        self._count(reason)
        log.debug("dropped waku message 0x%s: %s", received.hash.hex(), reason)

    async def _decode(self, received: ReceivedMessage) -> Inbound | None:
        message = received.message
        if self.communities is not None and message.content_topic in (
            self.communities.description_topics
        ):
            self._count(await self.communities.on_waku(message))
            return None
        listeners = self._by_topic.get(message.content_topic)
        if not listeners:
            self._drop("unknown_topic", received)
            return None
        if message.version != 1 or len(message.payload) > MAX_MESSAGE_SIZE:
            self._drop("malformed", received)
            return None
        decoded: Decoded | None = None
        key_used = b""
        for key in dict.fromkeys(key for _, key in listeners):
            try:
                decoded = decrypt_symmetric(message.payload, key)
            except DecryptionError:
                continue
            key_used = key
            break
        if decoded is None:
            self._drop("undecryptable", received)
            return None
        if decoded.signer is None:
            self._drop("unsigned", received)  # status-go drops these too
            return None
        if decoded.signer == self._public:
            self._count("own")  # our publish coming back
            return None
        # status-go's whisperTimestamp: the envelope's time in whole seconds, times 1000 (the
        # clock-drift rule is measured from there, not from the exact nanoseconds).
        waku_ms = (message.timestamp // _NS_PER_S) * 1000 if message.timestamp else None
        try:
            envelope = parse_status_payload(decoded.payload, waku_ms)
        except StatusDecodeError as exc:
            self._drop("malformed", received)
            # Said at INFO: a person's message that never shows is worth a line (status-go
            # drops such messages as well, a text over 4096 characters among them).
            log.info(
                "Waku message 0x%s from 0x%s dropped: %s",
                received.hash.hex()[:16],
                decoded.signer.hex()[:16],
                exc,
            )
            return None
        # The author is the application-layer signer; status-go never compares it with the
        # Waku-layer one (another node may relay or republish a member's signed message).
        if envelope.signer == self._public:
            self._count("own")  # our own signed message, republished by someone else
            return None
        content = envelope.content
        if content is None:
            self._drop("unsupported", received)
            return None
        # Rooms sharing a topic are told apart by key (a private room never accepts messages
        # made with the public PBKDF2 key of its topic) and then by the chat id they name.
        room = next(
            (r for r, k in listeners if k == key_used and r.chat_id == content.chat_id),
            None,
        )
        if room is None:
            self._drop("other_chat", received)
            return None
        if self.communities is not None and room.config.community is not None:
            refused = self.communities.refuse_inbound(room.ref.chat_id, envelope)
            if refused is not None:
                self._drop(f"refused_{refused}", received)
                return None
        event = await self._to_event(room, envelope, content, waku_ms)
        if isinstance(event, str):
            self._drop(event, received)
            return None
        return event

    async def _to_event(
        self,
        room: _Room,
        envelope: StatusEnvelope,
        content: ChatMessageFields | EditMessageFields | DeleteMessageFields | EmojiReactionFields,
        waku_ms: int | None,
    ) -> Inbound | str:
        """The neutral event, or why there is none."""
        now_ms = self._clock() // _NS_PER_MS
        signer = envelope.signer
        native_id = NativeId(envelope.message_id_hex)
        if isinstance(content, ChatMessageFields):
            # Lamport: our next message in this chat must sort after what we have seen, but a
            # forged far-future clock must not drag ours along. Half the drift status-go allows,
            # so that our own next clocks stay well inside what it accepts.
            if content.clock <= now_ms + MAX_CLOCK_DRIFT_MS // 2:
                room.last_clock = max(room.last_clock, content.clock)
            text = self._inbound_text(content)
            if text is None:
                return "no_text"
            reply = content.response_to if _STATUS_ID.fullmatch(content.response_to) else None
            return NewMessage(
                source=room.ref,
                native_id=native_id,
                author=self._author(signer, content),
                text=RichText.plain(text),
                timestamp=self._datetime(content.timestamp_ms, now_ms),
                reply_to=None if reply is None else NativeId(reply),
            )
        if isinstance(content, EmojiReactionFields):
            emoji = emoji_for_reaction(content.emoji)
            if emoji is None or not _STATUS_ID.fullmatch(content.target_id):
                return "unsupported"
            return Reaction(
                source=room.ref,
                native_id=NativeId(content.target_id),
                emoji=emoji,
                added=not content.retracted,
                author=self._author(signer, None),
            )
        if not await self._wrote(room, content.target_id, signer) and not (
            # status-go lets the community's owner, admins and token masters delete anyone's
            # message for everyone (handleDeleteMessage); edits stay the author's.
            isinstance(content, DeleteMessageFields)
            and await self._moderates(room, content.target_id, signer)
        ):
            return "not_author"
        if isinstance(content, EditMessageFields):
            return EditMessage(
                source=room.ref,
                native_id=NativeId(content.target_id),
                text=RichText.plain(content.text),
                timestamp=self._datetime(waku_ms or now_ms, now_ms),
            )
        return DeleteMessage(source=room.ref, native_id=NativeId(content.target_id))

    @staticmethod
    def _inbound_text(content: ChatMessageFields) -> str | None:
        if content.bridge is not None:
            text = content.bridge.content
        else:
            text = content.text or _PLACEHOLDERS.get(content.content_type, "")
        # A BridgeMessage's content is not bounded by Status; ours is the same as its text's.
        text = _truncate(text)
        return text if text.strip() else None

    async def _wrote(self, room: _Room, target_id: str, signer: bytes) -> bool:
        """Did ``signer`` write ``target_id`` in this room? Status applies an edit or a delete
        only from the author; anyone else's must not reach the platforms either."""
        if not _STATUS_ID.fullmatch(target_id):
            return False
        db = self._store.db
        hit = await messages.lookup_native(db, room.ref, NativeId(target_id))
        if hit is None or not hit.origin:
            return False
        stored = await messages.get(db, hit.message_id)
        return stored is not None and stored.author.user_id == "0x" + signer.hex()

    async def _moderates(self, room: _Room, target_id: str, signer: bytes) -> bool:
        """May ``signer`` delete ``target_id`` (a Status member's message relayed from this
        community room) for everyone, per the newest verified description?"""
        if self.communities is None or room.config.community is None:
            return False
        if not self.communities.may_delete_any(room.ref.chat_id, signer):
            return False
        if not _STATUS_ID.fullmatch(target_id):
            return False
        hit = await messages.lookup_native(self._store.db, room.ref, NativeId(target_id))
        # Only messages that came from Status: a moderator's delete of the bridge's own copy
        # of a Telegram or Discord message does not delete the original there.
        return hit is not None and hit.origin

    def _author(self, signer: bytes, content: ChatMessageFields | None) -> Author:
        address = to_address(signer)
        name = ""
        avatar = None
        if content is not None:
            # A name status-go refuses (ValidateDisplayName) is never shown. Community rooms
            # drop such messages as status-go does (Communities.refuse_inbound); a raw Waku
            # chat has no Status client whose view to mirror, so the message is relayed under
            # the signer's address instead.
            if valid_display_name(content.display_name):
                name = _clean(content.display_name, _MAX_NAME)
            user = _clean(content.bridge.user_name, _MAX_NAME) if content.bridge else ""
            if content.bridge is not None and user:
                # Another bridge's message: its original author, where it came from, and the
                # Status display name of the bridge that posted it.
                via = _clean(content.bridge.bridge_name, _MAX_NAME)
                label = f"{via} via {name}" if via and name else via or name
                name = f"{user} ({label})" if label else user
                avatar = _http_url(content.bridge.user_avatar) or None
            if name:
                # Reactions carry no name; show the one this key last used.
                self._names[signer] = name
                self._names.move_to_end(signer)
                if len(self._names) > _KNOWN_NAMES:
                    self._names.popitem(last=False)
        if not name:
            name = self._names.get(signer) or f"{address[:6]}…{address[-4:]}"
        return Author(
            platform="waku",
            user_id=UserId("0x" + signer.hex()),
            display_name=name,
            username=address,
            avatar_url=avatar,
        )

    @staticmethod
    def _datetime(ms: int, now_ms: int) -> datetime:
        # Sender-chosen: clamp it so a hostile value cannot overflow datetime or sort into
        # the future.
        return datetime.fromtimestamp(max(0, min(ms, now_ms)) / 1000, UTC)

    # --- catch-up -----------------------------------------------------------------------

    async def _advance_seen(self, message: WakuMessage) -> None:
        seen = self._seen.get(message.content_topic)
        if seen is None or not message.timestamp:
            return
        # A forged future timestamp must not make the next catch-up start after real messages.
        ts = min(message.timestamp, self._clock())
        if seen.value is None or ts > seen.value:
            seen.value = ts
        await self._flush_seen(message.content_topic)

    async def _flush_seen(self, content_topic: str, *, force: bool = False) -> None:
        seen = self._seen[content_topic]
        now = self._clock()
        if seen.hold or seen.value is None or seen.value == seen.flushed:
            return
        if not force and now - seen.flushed_at < _SEEN_FLUSH_NS:
            return
        async with self._store.transaction() as db:
            await kv.set(db, self._seen_key(content_topic), seen.value)
        seen.flushed = seen.value
        seen.flushed_at = now

    async def _catch_up(self) -> None:
        for content_topic in list(self._seen):
            try:
                await self._catch_up_topic(content_topic)
            except Exception:
                log.exception("waku catch-up on %s failed; live messages still flow", content_topic)

    async def _catch_up_topic(self, content_topic: str) -> None:
        seen = self._seen[content_topic]
        now = self._clock()
        if seen.fresh or seen.flushed is None:
            seen.fresh = False
            seen.value = max(seen.value or 0, now)
            await self._flush_seen(content_topic, force=True)
            return
        start = max(seen.flushed - self._margin_ns, now - self._max_catch_up_ns)
        cursor: bytes | None = None
        # Released only when the whole window was read; a failed catch-up keeps the old
        # position on disk, so the next start (or reconnection) tries the same window again.
        seen.hold = True
        for _ in range(self._max_pages):
            if not self._running:
                return
            try:
                page = await self._node.query(
                    HistoryQuery(
                        pubsub_topic=seen.pubsub_topic,
                        content_topics=[content_topic],
                        start_time=start,
                        cursor=cursor,
                        page_size=_HISTORY_PAGE,
                    )
                )
            except NodeError as exc:
                log.warning("waku catch-up on %s: the store refused: %s", content_topic, exc)
                return
            for received in page.messages:
                if not self._running:
                    return
                async with self._inbound_lock:
                    await self._process(received)
            if page.cursor is None:
                break
            cursor = page.cursor
        else:
            # Bounded on purpose: a long outage must not flood the platforms; what is left is
            # skipped (and said so).
            log.warning(
                "waku catch-up on %s stopped after %d pages", content_topic, self._max_pages
            )
        seen.hold = False
        await self._flush_seen(content_topic, force=True)
