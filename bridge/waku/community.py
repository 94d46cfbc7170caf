"""The bridge in Status communities: knowing each community, joining it, and the rules its
members' clients apply (status-go c72f491; see bridge/status/community.py).

For each community a room names, ``Communities``

- keeps the newest CommunityDescription signed by the community key (live on the community's
  content topic, and from the Waku store at start; plain or SDS-wrapped), durably in the
  ``status_communities`` table, so a restart knows the members without the network;
- while the bridge's identity key is not a member, sends a ``CommunityRequestToJoin`` the way
  ``Messenger.RequestToJoinCommunity`` does (ApplicationMetadataMessage type 27 signed by the
  bridge key, no ProtocolMessage layer, ECIES-encrypted to the community key and Waku-signed by
  the bridge key, content topic of the uncompressed community key's hex without ``0x``, pubsub
  topic ``/waku/2/rs/16/64``), again with back-off while the request is pending, and gives up
  after the 7 days status-go keeps a request;
- answers, per room, the bridge's ``Membership`` and whether a received message's signer may
  post there (``CanPost`` on the newest description, status-go's display-name rule).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from bridge.status.chat import ChatMessageFields, EmojiReactionFields
from bridge.status.community import (
    COMMUNITY_REQUEST_TO_JOIN,
    REQUEST_TIMEOUT_S,
    CommunityView,
    Membership,
    build_request_to_join,
    member_key,
    parse_description,
)
from bridge.status.envelope import StatusEnvelope, encode_application_message
from bridge.status.links import CHANNEL_UUID, CommunityRef
from bridge.status.names import valid_display_name
from bridge.status.sds import SdsChannel
from bridge.status.topics import (
    DEFAULT_CLUSTER_ID,
    GLOBAL_COMMUNITY_CONTENT_SHARD,
    GLOBAL_COMMUNITY_CONTROL_SHARD,
    NON_PROTECTED_SHARD,
    chat_key,
    chat_topic,
)
from bridge.status.types import ChatType, StatusDecodeError
from bridge.store import status_communities as rows
from bridge.tasks import cancel_and_wait
from bridge.waku.message import WakuMessage
from bridge.waku.node import HistoryQuery, NodeError, WakuNode
from crypto.keys import decompress_public_key, public_key
from crypto.payload import DecryptionError, decrypt_symmetric, encrypt_asymmetric

__all__ = ["REQUEST_PUBSUB_TOPIC", "Communities", "CommunityRoom", "community_room"]

log = logging.getLogger(__name__)

# shard.DefaultNonProtectedPubsubTopic: requests to join go here.
REQUEST_PUBSUB_TOPIC = f"/waku/2/rs/{DEFAULT_CLUSTER_ID}/{NON_PROTECTED_SHARD}"
_NS = 1_000_000_000
_HISTORY_PAGES = 20
_HISTORY_PAGE = 100
_REFETCH_NS = 60 * _NS
# States in which queued messages can never go out (they are dropped with the reason).
FINAL = frozenset(
    {Membership.BANNED, Membership.KICKED, Membership.TOKEN_GATED, Membership.DECLINED}
)


@dataclass(frozen=True, slots=True)
class CommunityRoom:
    """One room's community channel, as configured."""

    community_id: str
    channel: str | None  # name or UUID from status_channel
    channel_uuid: str | None  # from a channel link
    pubsub_topic: str
    # Also listened on: the shared community shards newer status-go defines (56/STATUS-
    # COMMUNITIES: control /16/128, content /16/256), when the node relays them.
    also_listen: tuple[str, ...] = ()


@dataclass(slots=True)
class _Community:
    community_id: str
    pubsub_topic: str
    public: bytes  # 65-byte uncompressed community key
    row: rows.CommunityRow
    view: CommunityView | None = None
    fetched_at: int = 0  # ns, the last store query for descriptions
    sds: SdsChannel = field(init=False)

    def __post_init__(self) -> None:
        self.sds = SdsChannel(self.community_id)


class Communities:
    """The communities of the configured rooms (keyed by the router's chat id of each room)."""

    def __init__(
        self,
        *,
        node: WakuNode,
        records: rows.StoredCommunities,
        identity_key: bytes,
        display_name: str,
        rooms: dict[str, CommunityRoom],
        clock: Callable[[], int] = time.time_ns,
        on_change: Callable[[], Awaitable[None]] | None = None,
        request_backoff: tuple[float, float] = (60.0, 3600.0),
        history_window: float = 30 * 24 * 3600.0,
        tick: float = 5.0,
    ) -> None:
        self._node = node
        self._records = records
        self._key = identity_key
        self._me = member_key(public_key(identity_key))
        self._name = display_name
        self.rooms = dict(rooms)
        self._clock = clock
        self._on_change = on_change
        self._backoff = request_backoff
        self._window_ns = int(history_window * _NS)
        self._tick = tick
        self._communities: dict[str, _Community] = {}
        self.description_topics: dict[str, str] = {}  # content topic -> community id
        self._keys: dict[str, bytes] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    # --- lifecycle ----------------------------------------------------------------------

    async def load(self) -> None:
        """Derive topics and keys, and read what the store remembers (no network)."""
        for room in self.rooms.values():
            cid = room.community_id
            if cid in self._communities:
                continue
            row = await self._records.get(cid) or rows.CommunityRow(cid)
            state = _Community(
                community_id=cid,
                pubsub_topic=room.pubsub_topic,
                public=decompress_public_key(bytes.fromhex(cid[2:])),
                row=row,
            )
            if row.description is not None:
                try:
                    state.view = parse_description(row.description, cid)
                except StatusDecodeError as exc:  # a corrupted row must not stop the bridge
                    log.warning("stored description of %s is unusable: %s", cid, exc)
            self._communities[cid] = state
            self._keys[cid] = await asyncio.to_thread(chat_key, cid)
            self.description_topics[chat_topic(cid)] = cid

    async def start(self) -> None:
        for state in list(self._communities.values()):
            await self._fetch_history(state)
        self._task = asyncio.create_task(self._loop(), name="status-communities")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    # --- what a room may do -------------------------------------------------------------

    def view(self, room: str) -> CommunityView | None:
        state = self._communities.get(self.rooms[room].community_id)
        return None if state is None else state.view

    def channel_uuid(self, room: str) -> str | None:
        config = self.rooms[room]
        if config.channel_uuid is not None:
            return config.channel_uuid
        view = self.view(room)
        if view is None or config.channel is None:
            return None
        channel = view.channel(config.channel)
        return None if channel is None else channel.uuid

    def membership(self, room: str) -> Membership:
        config = self.rooms[room]
        state = self._communities.get(config.community_id)
        if state is None:  # not loaded yet
            return Membership.UNKNOWN
        view = state.view
        if view is None:
            return Membership.REQUESTED if state.row.requests else Membership.UNKNOWN
        found = view.membership(self._me, self.channel_uuid(room), was_member=state.row.was_member)
        if found is Membership.UNKNOWN and state.row.requests:
            first = state.row.first_request_at or 0.0
            if self._clock() / _NS - first > REQUEST_TIMEOUT_S:
                return Membership.DECLINED
            return Membership.REQUESTED
        return found

    states: tuple[str, ...] = tuple(m.value for m in Membership)

    def state(self, room: str) -> str:
        return self.membership(room).value

    def describe(self, room: str) -> str:
        """One line for /rooms and /health: the state, and what the operator can do."""
        state = self.membership(room)
        view = self.view(room)
        name = f"{view.name!r}" if view is not None and view.name else self.rooms[room].community_id
        refusal = self.refusal(room)
        if refusal is not None:
            return f"{name}: {state.value} ({refusal})"
        hints = {
            Membership.UNKNOWN: "waiting for the community's description on Waku",
            Membership.REQUESTED: "requested to join; the owner must accept the request",
            Membership.MEMBER: "a member; the owner must let the bridge post in this channel",
            Membership.CAN_POST: "posting",
        }
        return f"{name}: {state.value} ({hints.get(state, '')})"

    def summary(self) -> str:
        return "; ".join(f"{room}: {self.describe(room)}" for room in sorted(self.rooms))

    def problem(self, room: str) -> str | None:
        """Why the room cannot work as configured (a channel the community lacks), or None."""
        config = self.rooms[room]
        view = self.view(room)
        if view is None or self.channel_uuid(room) is not None:
            return None
        names = ", ".join(sorted(c.name for c in view.channels.values())) or "none"
        wanted = config.channel or config.channel_uuid
        return f"community {view.name!r} has no channel {wanted!r} (channels: {names})"

    def hold_reason(self, room: str) -> str | None:
        """Why deliveries to ``room`` must wait (None: send now, or fail for good)."""
        state = self.membership(room)
        if state is Membership.CAN_POST or self.refusal(room) is not None:
            return None
        return f"waiting for Status community membership ({state.value})"

    def refusal(self, room: str) -> str | None:
        """Why a delivery can never go to ``room`` (PermanentError), or None."""
        problem = self.problem(room)
        if problem is not None:
            return problem
        state = self.membership(room)
        if state is Membership.TOKEN_GATED:
            return (
                "the community or channel is token-gated (encrypted); Parley cannot read or "
                "write encrypted Status channels yet"
            )
        if state in FINAL:
            return f"the bridge cannot post in this Status community: {state.value}"
        return None

    def refuse_inbound(self, room: str, envelope: StatusEnvelope) -> str | None:
        """status-go's reasons to hide a received message (``matchChatEntity``: ``CanPost``
        for its ApplicationMetadataMessage type; ``ValidateDisplayName`` for chat messages), as
        a metrics label, or None."""
        if envelope.sds is not None:
            self._communities[self.rooms[room].community_id].sds.seen(envelope.sds)
        view = self.view(room)
        uuid = self.channel_uuid(room)
        if view is None or uuid is None:
            return "no_description"
        key = member_key(envelope.signer)
        if view.is_banned(key):
            return "banned"
        if not view.is_member(key) and not view.is_control_node(key):
            return "not_member"
        if not view.can_post(key, uuid, envelope.message_type):
            return "cannot_post"
        content = envelope.content
        # matchChatEntity: chat messages and reactions in a community channel must say
        # COMMUNITY_CHAT (a PUBLIC_GROUP one naming the channel's chat id is dropped).
        if (
            isinstance(content, ChatMessageFields | EmojiReactionFields)
            and content.chat_type != ChatType.COMMUNITY_CHAT
        ):
            return "message_type"
        if isinstance(content, ChatMessageFields) and not valid_display_name(content.display_name):
            return "display_name"
        return None

    def may_delete_any(self, room: str, signer: bytes) -> bool:
        """status-go's ``CanDeleteMessageForEveryone`` per the newest description: the owner,
        admins and token masters may delete anyone's message in the community."""
        view = self.view(room)
        return view is not None and view.is_privileged(member_key(signer))

    def sds_wrap(self, room: str, payload: bytes) -> bytes:
        state = self._communities[self.rooms[room].community_id]
        return state.sds.wrap(payload, self._clock() // _NS)

    # --- descriptions -------------------------------------------------------------------

    async def on_waku(self, message: WakuMessage) -> str:
        """A message on a community's own topic; returns the outcome to count."""
        cid = self.description_topics.get(message.content_topic)
        if cid is None:
            return "unknown_topic"
        try:
            decoded = decrypt_symmetric(message.payload, self._keys[cid])
            view = parse_description(decoded.payload, cid)
        except (DecryptionError, StatusDecodeError) as exc:
            log.debug("not a description of %s: %s", cid, exc)
            return "community_other"
        return "community_description" if await self._accept(view) else "community_stale"

    async def _accept(self, view: CommunityView) -> bool:
        async with self._lock:
            state = self._communities[view.community_id]
            # UpdateCommunityDescription refuses only an older clock: one with the same clock
            # replaces the current description (status-go reprocesses it), so a control node
            # that republishes a changed description without bumping the clock is followed.
            if state.view is not None and (
                view.clock < state.view.clock
                or (view.clock == state.view.clock and view.raw == state.view.raw)
            ):
                return False
            before = {room: self.membership(room) for room in self._rooms_of(state)}
            state.view = view
            member = view.is_member(self._me)
            state.row = replace(
                state.row,
                clock=view.clock,
                description=view.raw,
                was_member=state.row.was_member or member,
            )
            await self._records.put(state.row, self._clock() / _NS)
            for room, old in before.items():
                new = self.membership(room)
                if new != old:
                    log.info(
                        "status community %s, room %s: %s -> %s",
                        view.community_id,
                        room,
                        old.value,
                        new.value,
                    )
        self._wake.set()
        if self._on_change is not None:
            await self._on_change()
        return True

    def _rooms_of(self, state: _Community) -> list[str]:
        return [r for r, c in self.rooms.items() if c.community_id == state.community_id]

    async def _fetch_history(self, state: _Community) -> None:
        """The newest description the store has (status-go republishes it on every change)."""
        state.fetched_at = self._clock()
        cursor: bytes | None = None
        start = self._clock() - self._window_ns
        try:
            for _ in range(_HISTORY_PAGES):
                page = await self._node.query(
                    HistoryQuery(
                        pubsub_topic=state.pubsub_topic,
                        content_topics=[chat_topic(state.community_id)],
                        start_time=start,
                        cursor=cursor,
                        page_size=_HISTORY_PAGE,
                    )
                )
                for received in page.messages:
                    await self.on_waku(received.message)
                if page.cursor is None:
                    break
                cursor = page.cursor
        except NodeError as exc:
            log.warning("no description of %s from the store: %s", state.community_id, exc)

    # --- joining ------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            for state in list(self._communities.values()):
                try:
                    if state.view is None and self._refetch_due(state):
                        # The node or its store was not ready at start: ask again.
                        await self._fetch_history(state)
                    await self._maybe_request(state)
                except Exception:
                    log.exception("request to join %s failed", state.community_id)
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._tick):
                    await self._wake.wait()

    def _refetch_due(self, state: _Community) -> bool:
        now = self._clock()
        if now - state.fetched_at < _REFETCH_NS:
            return False
        state.fetched_at = now
        return True

    def _due(self, state: _Community, now_s: float) -> bool:
        row = state.row
        if row.last_request_at is None:
            return True
        first, cap = self._backoff
        delay: float = min(cap, first * 2.0 ** max(0, row.requests - 1))
        return now_s - row.last_request_at >= delay

    async def _maybe_request(self, state: _Community) -> None:
        view = state.view
        # status-go asks only a community it knows (and so knows is not token-gated).
        if view is None or view.is_member(self._me) or view.is_control_node(self._me):
            return
        if view.encrypted or view.is_banned(self._me) or state.row.was_member:
            return  # gated, banned, or kicked: asking again is the operator's call
        now_s = self._clock() / _NS
        first = state.row.first_request_at
        if first is not None and now_s - first > REQUEST_TIMEOUT_S:
            return  # declined (expired): the operator sees it in /rooms and /health
        if not self._due(state, now_s):
            return
        await self.send_request(state.community_id, now_s)

    async def send_request(self, community_id: str, now_s: float) -> None:
        state = self._communities[community_id]
        request = build_request_to_join(self._key, community_id, self._name, int(now_s))
        app = encode_application_message(request, COMMUNITY_REQUEST_TO_JOIN, self._key)
        message = WakuMessage(
            payload=encrypt_asymmetric(app, state.public, signing_key=self._key),
            content_topic=chat_topic(state.public.hex()),
            version=1,
            timestamp=self._clock(),
        )
        try:
            await self._node.publish(REQUEST_PUBSUB_TOPIC, message)
        except NodeError as exc:
            log.warning("could not send the request to join %s: %s", community_id, exc)
            return
        row = state.row
        state.row = replace(
            row,
            first_request_at=row.first_request_at if row.first_request_at else now_s,
            last_request_at=now_s,
            requests=row.requests + 1,
        )
        await self._records.put(state.row, now_s)
        log.info("sent request %d to join Status community %s", state.row.requests, community_id)


def community_room(
    ref: CommunityRef,
    channel: str | None,
    pubsub_topic: str,
    relayed_shards: tuple[int, ...] = (),
) -> CommunityRoom:
    """A room's community channel from its config; a link's shard wins over the default.
    ``relayed_shards`` (cluster 16) are those the node relays: the shared community shards
    among them are listened on too."""
    if ref.shard is not None:
        pubsub_topic = f"/waku/2/rs/{ref.shard[0]}/{ref.shard[1]}"
    shared = (GLOBAL_COMMUNITY_CONTROL_SHARD, GLOBAL_COMMUNITY_CONTENT_SHARD)
    also = tuple(
        topic
        for shard in shared
        if shard in relayed_shards
        and (topic := f"/waku/2/rs/{DEFAULT_CLUSTER_ID}/{shard}") != pubsub_topic
    )
    uuid = ref.channel_uuid
    if uuid is None and channel is not None and CHANNEL_UUID.match(channel):
        uuid = channel
    return CommunityRoom(
        community_id=ref.community_id,
        channel=channel if channel is not None else ref.channel_name,
        channel_uuid=uuid,
        pubsub_topic=pubsub_topic,
        also_listen=also,
    )
