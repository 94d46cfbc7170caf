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

The parts live beside this module: ``rooms`` (configuration, topics and keys, shared state),
``outbound`` (building and publishing), ``inbound`` (decoding and validating what arrives),
``catch_up`` (what was read, and reading what was missed), ``status_format`` (names, ids and
reactions as Status shows them) and ``text`` (Status's markdown, and splitting long text).
``WakuAdapter`` puts them together.

Choices worth knowing (also in the README):

- Text goes out as the markdown Status renders (``text``: bold, italic, struck, code, code
  blocks, bare URLs; a labelled link as ``label (url)``) and comes in from it.
- Text longer than status-go's 4096 runes goes out as several Status messages, like Telegram
  and Discord; the first is the copy's id (replies, reactions), and edits and deletes reach
  every part (their ids are kept in ``relay_parts``, so after a restart too). A reply or
  reaction from Status to any part is to the whole message. Each part is recorded (id, clock,
  timestamp) before it is published, so a send cut short by a crash is finished after the
  restart with every part posted once: the part in doubt goes out again as the same signed
  message, which status-go skips if it has it.
- Files are not carried to Waku; each attachment becomes a line ``[photo: name] url``.
- Status applies an edit only when its signer wrote the target, and a delete also from a
  community's owner, admins and token masters; the adapter does the same for the platforms,
  checking the target's author in the router's id map.
- Status offers six reactions; other emoji are not relayed to Waku.
- A member's ``/name args`` naming a bridge command is a ``Command``, answered in the chat as
  a reply, run at most once (``commands``); a command whose answer is private is not run on
  Status, and the chat is told where to use it.
- Lamport clocks (per chat) and the last Waku timestamp seen (per content topic) live in the
  platform's namespaced kv (``waku.clock.<chat>``, ``waku.last_seen.<topic>``), so clocks keep
  increasing across restarts and a restart catches up on what was published meanwhile
  (store v3 query, from last seen minus a margin).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar

from bots.waku.catch_up import CatchUp
from bots.waku.commands import WakuCommands
from bots.waku.inbound import Receiver
from bots.waku.outbound import Publisher, bridge_message_id
from bots.waku.rooms import DEFAULT_PUBSUB_TOPIC, AdapterState, RoomDirectory, WakuRoomConfig
from bots.waku.status_format import (
    MAX_NAME,
    NS_PER_S,
    clean,
    derive_installation_id,
    emoji_for_reaction,
    reaction_for_emoji,
)
from bridge.commands import CommandSpec
from bridge.model import (
    Adapter,
    Capabilities,
    ChatRef,
    Feature,
    InboundSink,
    NativeId,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    Platform,
)
from bridge.status import MAX_TEXT_LENGTH
from bridge.store.origins import StoredOrigins
from bridge.store.parts import StoredParts
from bridge.store.platform_kv import PlatformKv
from bridge.store.status_communities import StoredCommunities
from bridge.tasks import cancel_and_wait
from bridge.waku.community import Communities
from bridge.waku.node import WakuNode
from crypto.keys import public_key

__all__ = [
    "DEFAULT_PUBSUB_TOPIC",
    "WakuAdapter",
    "WakuRoomConfig",
    "emoji_for_reaction",
    "reaction_for_emoji",
]

log = logging.getLogger(__name__)

_STOP_TIMEOUT = 10.0


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
        kv: PlatformKv,
        parts: StoredParts,
        origins: StoredOrigins,
        community_records: StoredCommunities | None = None,
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
        commands: Sequence[CommandSpec] = (),
    ) -> None:
        """``rooms`` maps the chat id the router knows (``ChatRef.chat_id``, the config's
        ``waku_chat``) to the room's settings.

        After a restart the adapter re-reads history from the last Waku timestamp it handled
        minus ``catch_up_margin`` seconds, at most ``max_catch_up`` seconds back and
        ``max_catch_up_pages`` store pages per content topic. ``clock`` returns Unix ns.
        ``on_stat`` lets the app mirror ``stats`` into its metrics without polling them.
        ``kv``, ``parts``, ``origins`` and ``community_records`` are the only parts of the
        store it reaches (``PlatformContext``); community rooms need ``community_records``.
        ``commands`` are the bridge's commands, which Status members give as ``/name args``
        (``bots.waku.commands``).
        """
        self._node = node
        public = public_key(identity_key)
        self._state = AdapterState(
            node=node,
            kv=kv,
            origins=origins,
            key=identity_key,
            public=public,
            clock=clock,
            on_stat=on_stat,
        )
        self._rooms = RoomDirectory(self._state, rooms)
        self._history = CatchUp(
            self._state,
            self._rooms,
            margin_ns=int(catch_up_margin * NS_PER_S),
            max_catch_up_ns=int(max_catch_up * NS_PER_S),
            max_pages=max_catch_up_pages,
        )
        self._outbound = Publisher(
            self._state,
            self._rooms,
            self._history,
            parts=parts,
            bridge_name=clean(bridge_name, MAX_NAME) or "parley",
            installation_id=installation_id or derive_installation_id(public),
        )
        self._commands = WakuCommands(
            self._state, self._outbound, commands, clean(bridge_name, MAX_NAME) or "parley"
        )
        # A command message taken before may come again with a catch-up, never from further
        # back than this.
        self._commands_kept = catch_up_margin + max_catch_up
        self._inbound = Receiver(self._state, self._rooms, self._history, parts, self._commands)
        self._health_interval = health_interval
        self._connected = False
        self._health_task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        community_rooms = {
            name: config.community
            for name, config in self._rooms.configs.items()
            if config.community is not None
        }
        self.communities: Communities | None = None
        if community_rooms:
            if community_records is None:
                raise ValueError("community rooms need the store's community records")
            self.communities = Communities(
                node=node,
                records=community_records,
                identity_key=identity_key,
                # Validated at config time against status-go's display-name rule.
                display_name=bridge_name.strip(),
                rooms=community_rooms,
                clock=clock,
                on_change=self._rooms.community_changed,
            )
        self._state.communities = self.communities

    @property
    def stats(self) -> Counter[str]:
        """Inbound outcomes by reason (``relayed``, ``own``, ``undecryptable``, ...)."""
        return self._state.stats

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, sink: InboundSink) -> None:
        if self.communities is not None:
            await self.communities.load()
        rooms = await self._rooms.resolve()
        await self._commands.prune(self._commands_kept)
        self._state.sink = sink
        self._state.running = True
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
            await self._node.subscribe(pubsub_topics, self._inbound.on_message)
        self._connected = await self._health()
        # Subscribed first, so nothing published from now on can fall between history and live.
        await self._history.catch_up(self._inbound.process)
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
        self._state.running = False
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
        async with self._state.inbound_lock:
            await self._history.flush_all()

    def is_connected(self) -> bool:
        return self._state.running and self._connected

    def hold_reason(self, chat: ChatRef) -> str | None:
        if self.communities is None or chat.chat_id not in self.communities.rooms:
            return None
        return self.communities.hold_reason(chat.chat_id)

    def status_detail(self) -> str | None:
        return None if self.communities is None else self.communities.summary()

    def chat_detail(self, chat: ChatRef) -> str | None:
        if self.communities is None or chat.chat_id not in self.communities.rooms:
            return None
        return f"Status community: {self.communities.describe(chat.chat_id)}"

    async def _health(self) -> bool:
        try:
            return (await self._node.health()).ready
        except Exception as exc:  # a node that cannot even say how it is, is not ready
            log.debug("waku node health check failed: %s", exc)
            return False

    async def _health_loop(self) -> None:
        while self._state.running:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._health_interval):
                    await self._stopping.wait()
            if not self._state.running:
                return
            ready = await self._health()
            if ready and not self._connected:
                log.info("waku node is ready again; catching up on history")
                self._connected = True
                await self._history.catch_up(self._inbound.process)
            self._connected = ready

    # --- outbound -----------------------------------------------------------------------

    @staticmethod
    def bridge_message_id(delivery: OutboundMessage) -> str:
        """``BridgeMessage.messageID`` of a delivery: stable across attempts and restarts."""
        return bridge_message_id(delivery)

    async def send(self, delivery: OutboundMessage) -> NativeId:
        return await self._outbound.send(delivery)

    async def edit(self, delivery: OutboundEdit) -> None:
        await self._outbound.edit(delivery)

    async def delete(self, delivery: OutboundDelete) -> None:
        await self._outbound.delete(delivery)

    async def react(self, delivery: OutboundReaction) -> None:
        await self._outbound.react(delivery)

    async def recover(self, delivery: OutboundMessage) -> NativeId | None:
        """Find our copy of ``delivery``: by its recorded parts when it is several messages
        (``None`` while one may be missing: ``send`` finishes it), else in the node's history
        by its BridgeMessage.messageID."""
        return await self._outbound.recover(delivery)
