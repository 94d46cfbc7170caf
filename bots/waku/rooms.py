"""The Waku adapter's rooms: their configuration, the content topics and keys each one sends
and listens on (raw Waku chats and Status community channels), and the state the adapter's
parts share (bots/waku/adapter.py puts them together)."""

from __future__ import annotations

import asyncio
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from bridge.model import ChatId, ChatRef, InboundSink, PermanentError
from bridge.status import (
    DEFAULT_CLUSTER_ID,
    DEFAULT_SHARD,
    ChatType,
    chat_key,
    chat_topic,
    legacy_channel_chat_id,
    universal_chat_id,
)
from bridge.store.origins import StoredOrigins
from bridge.store.platform_kv import PlatformKv
from bridge.waku.community import Communities, CommunityRoom
from bridge.waku.node import WakuNode

__all__ = [
    "DEFAULT_PUBSUB_TOPIC",
    "AdapterState",
    "Room",
    "RoomDirectory",
    "Seen",
    "WakuRoomConfig",
]

DEFAULT_PUBSUB_TOPIC: Final = f"/waku/2/rs/{DEFAULT_CLUSTER_ID}/{DEFAULT_SHARD}"

_RECENT_HASHES = 4096


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
class Room:
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
class Seen:
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


@dataclass(eq=False)
class AdapterState:
    """What the adapter's inbound, outbound and catch-up parts share."""

    node: WakuNode
    kv: PlatformKv  # the platform's own records (clocks, positions)
    origins: StoredOrigins  # who wrote a message an edit or delete names
    key: bytes  # the bridge's identity key
    public: bytes
    clock: Callable[[], int]  # Unix ns
    on_stat: Callable[[str], None] | None = None
    communities: Communities | None = None
    # Inbound outcomes by reason (``relayed``, ``own``, ``undecryptable``, ...).
    stats: Counter[str] = field(default_factory=Counter)
    # Hashes of messages handled or published: our own echoes and repeats are skipped by them.
    recent: OrderedDict[bytes, None] = field(default_factory=OrderedDict)
    inbound_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    sink: InboundSink | None = None
    running: bool = False

    def count(self, outcome: str) -> None:
        self.stats[outcome] += 1
        if self.on_stat is not None:
            self.on_stat(outcome)

    def remember(self, digest: bytes) -> None:
        self.recent[digest] = None
        self.recent.move_to_end(digest)
        if len(self.recent) > _RECENT_HASHES:
            self.recent.popitem(last=False)


class RoomDirectory:
    """The configured rooms, resolved once: their topics and keys (PBKDF2 off the event loop),
    the persisted Lamport clocks, and which rooms listen on each content topic."""

    def __init__(self, state: AdapterState, configs: Mapping[str, WakuRoomConfig]) -> None:
        self._state = state
        self._configs = dict(configs)
        self._rooms: dict[ChatId, Room] | None = None
        self._resolve_lock = asyncio.Lock()
        # content topic -> the (room, key) pairs listening on it
        self.by_topic: dict[str, list[tuple[Room, bytes]]] = {}
        self.seen: dict[str, Seen] = {}

    @property
    def configs(self) -> dict[str, WakuRoomConfig]:
        return self._configs

    async def room(self, chat: ChatRef) -> Room:
        rooms = await self.resolve()
        room = rooms.get(chat.chat_id) if chat.platform == "waku" else None
        if room is None:
            raise PermanentError(f"{chat} is not a configured Waku room")
        return room

    async def resolve(self) -> dict[ChatId, Room]:
        """Derive topics and keys (PBKDF2 off the event loop) and load the persisted state."""
        async with self._resolve_lock:
            if self._rooms is not None:
                return self._rooms
            rooms: dict[ChatId, Room] = {}
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
                room = Room(
                    ref=ChatRef("waku", ChatId(name)),
                    config=config,
                    send_topic=pairs[0][0],
                    send_key=pairs[0][1],
                    listen=tuple(pairs),
                )
                room.last_clock = await self._state.kv.get_int(clock_key(room)) or 0
                rooms[room.ref.chat_id] = room
                for content_topic, key in room.listen:
                    await self._listen(room, content_topic, key)
            self._rooms = rooms
            return rooms

    async def _listen(self, room: Room, content_topic: str, key: bytes) -> None:
        self.by_topic.setdefault(content_topic, []).append((room, key))
        if content_topic not in self.seen:
            seen = Seen(room.config.pubsub_topic)
            seen.value = seen.flushed = await self._state.kv.get_int(seen_key(content_topic))
            seen.fresh = seen.flushed is None
            self.seen[content_topic] = seen

    async def _community_room(self, name: str, config: WakuRoomConfig) -> Room:
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
        room = Room(
            ref=ChatRef("waku", ChatId(name)),
            config=config,
            send_topic=pair[0],
            send_key=pair[1],
            listen=(pair,),
            sends=[(*pair, True)],
        )
        room.last_clock = await self._state.kv.get_int(clock_key(room)) or 0
        await self._listen(room, *pair)
        await self._attach_channel(room)
        return room

    async def _attach_channel(self, room: Room) -> None:
        """Once the channel's UUID is known: its chat id and its own (older) topic."""
        communities = self._state.communities
        if communities is None or room.status_chat is not None:
            return
        community = room.config.community
        uuid = communities.channel_uuid(room.ref.chat_id)
        if community is None or uuid is None:
            return
        chat = legacy_channel_chat_id(community.community_id, uuid)
        pair = (chat_topic(chat), await asyncio.to_thread(chat_key, chat))
        room.status_chat = chat
        room.sends.append((*pair, False))
        room.listen = (*room.listen, pair)
        await self._listen(room, *pair)

    async def community_changed(self) -> None:
        for room in (self._rooms or {}).values():
            if room.config.community is not None:
                await self._attach_channel(room)


def clock_key(room: Room) -> str:
    # Under the platform's kv namespace: the row is ``waku.clock.<chat>``.
    return f"clock.{room.config.chat_id}"


def seen_key(content_topic: str) -> str:
    return f"last_seen.{content_topic}"
