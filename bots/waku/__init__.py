"""Status/Waku rooms: the bridge in Waku chats and Status community channels, speaking Status's
message format over the bridge's own Waku node (the transport, ``bridge/waku/``, is core).

``SPEC`` is what ``bots/registry.py`` lists; the adapter itself is imported only when the
bridge makes it, so that ``parley`` starts fast whatever is configured. Rooms are configured
with the room keys ``waku_chat`` / ``waku_key`` / ``waku_pubsub_topic`` or ``status_community``
/ ``status_channel`` (bridge/config.py), and the adapter runs when some room has one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bots.waku.text import to_status
from bridge.config import Settings, WakuSettings
from bridge.model import Adapter, ChatId, UserId
from bridge.platforms import PlatformContext, PlatformSpec
from bridge.status import chat_topic

if TYPE_CHECKING:
    from bots.waku.adapter import WakuRoomConfig

__all__ = ["SPEC", "parse_chat_id"]


def parse_chat_id(text: str) -> ChatId:
    """A Waku room as the router names it: its Status chat id (``waku_chat``), or
    ``status:<room>`` for a community channel."""
    chat_topic(text)  # ValueError for what Status cannot name a chat
    return ChatId(text)


def _no_user_ref(text: str) -> UserId | None:
    # Status people are named by their public key, which every platform writes the same way:
    # the bridge's qualified ``waku:0x04…`` form covers them.
    return None


def _enabled(settings: Settings) -> bool:
    return any(room.waku_room for room in settings.rooms)


def room_configs(settings: Settings) -> dict[str, WakuRoomConfig]:
    """The configured Waku rooms by the chat id the router knows them by."""
    from bots.waku.adapter import WakuRoomConfig
    from bridge.status.topics import DEFAULT_CLUSTER_ID
    from bridge.waku.community import community_room

    rooms = {
        room.waku_chat: WakuRoomConfig(
            chat_id=room.waku_chat,
            pubsub_topic=room.waku_pubsub_topic,
            key=room.waku_key_bytes,
        )
        for room in settings.rooms
        if room.waku_chat is not None
    }
    own_cluster = settings.waku.cluster_id == DEFAULT_CLUSTER_ID
    for room in settings.rooms:
        ref = room.status_ref
        if ref is not None and room.waku_room is not None:
            community = community_room(
                ref,
                room.status_channel,
                room.waku_pubsub_topic,
                tuple(settings.waku.shards) if own_cluster else (),
            )
            rooms[room.waku_room] = WakuRoomConfig(
                chat_id=room.waku_room, pubsub_topic=community.pubsub_topic, community=community
            )
    return rooms


def _factory(context: PlatformContext) -> Adapter:
    from bots.waku.adapter import WakuAdapter

    assert context.node is not None, "the Waku rooms need the bridge's Waku node"
    metrics = context.metrics

    def on_stat(outcome: str) -> None:
        if metrics is None:
            return
        if outcome == "publish_error":
            metrics.waku_publish_errors.inc()
            return
        if outcome.startswith("refused_"):  # status-go's community rules said no
            metrics.status_refused.labels(reason=outcome.removeprefix("refused_")).inc()
        # every message the node handed the rooms, whatever became of it
        metrics.waku_messages_received.inc()

    adapter = WakuAdapter(
        node=context.node,
        kv=context.kv,
        parts=context.parts,
        origins=context.origins,
        community_records=context.community_records,
        identity_key=context.identity_key,
        rooms=room_configs(context.settings),
        bridge_name=context.settings.bridge.name,
        on_stat=on_stat,
        commands=context.commands,
        **context.options,
    )
    if adapter.communities is not None and metrics is not None:
        metrics.watch_communities(adapter.communities)
    return adapter


SPEC = PlatformSpec(
    name="waku",
    settings_model=WakuSettings,
    enabled=_enabled,
    factory=_factory,
    parse_chat_id=parse_chat_id,
    parse_user_ref=_no_user_ref,
    to_native_text=to_status,
    component="waku_rooms",
)
