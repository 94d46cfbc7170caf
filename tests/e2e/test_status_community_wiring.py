"""A ``status_community`` room through the whole bridge: waiting shows in /health and
/metrics and holds Telegram's messages; once the community's description admits the bridge
they go out on the community's universal topic. (The status-go-faithful control node and the
full end-to-end suite are in tests/fakes and the other e2e modules; the community side here is
built from status-go's .proto messages and coincurve.)"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp
import coincurve

from bridge.proto import application_metadata_message_pb2 as app_pb
from bridge.proto import chat_message_pb2 as chat_pb
from bridge.proto import communities_pb2 as pb
from bridge.proto import protocol_message_pb2 as proto_pb
from bridge.status import chat_key, chat_topic, parse_status_payload
from bridge.waku.message import WakuMessage
from bridge.waku.node import ReceivedMessage
from crypto.keccak import keccak256
from crypto.keys import generate_private_key
from crypto.payload import DecryptionError, decrypt_symmetric, encrypt_symmetric
from tests.e2e.harness import Harness, running_bridge

COMMUNITY = coincurve.PrivateKey(generate_private_key())
CID = "0x" + COMMUNITY.public_key.format().hex()
GENERAL = "5b7c3a1e-9d2f-4c8b-a6e1-0f3d2c1b4a59"
UNIVERSAL = CID + "-memberUpdate"


def configure(raw: dict[str, Any]) -> None:
    raw["bridge"]["name"] = "Parley Bridge"
    room = raw["rooms"][0]
    del room["waku_chat"]
    room["status_community"] = CID
    room["status_channel"] = "general"


def description(clock: int, members: list[str]) -> WakuMessage:
    d = pb.CommunityDescription(clock=clock, ID=CID)
    d.identity.display_name = "Parley Friends"
    d.permissions.access = pb.CommunityPermissions.Access.MANUAL_ACCEPT
    for member in members:
        d.members[member].CopyFrom(pb.CommunityMember())
    d.chats[GENERAL].identity.display_name = "general"
    # ValidateCommunityDescription: every chat needs permissions.
    d.chats[GENERAL].permissions.access = pb.CommunityPermissions.Access.AUTO_ACCEPT
    payload = d.SerializeToString()
    raw = app_pb.ApplicationMetadataMessage(
        signature=COMMUNITY.sign_recoverable(keccak256(payload), hasher=None),
        payload=payload,
        type=app_pb.ApplicationMetadataMessage.Type.COMMUNITY_DESCRIPTION,
    ).SerializeToString()
    sealed = encrypt_symmetric(raw, chat_key(CID), COMMUNITY.secret)
    return WakuMessage(sealed, chat_topic(CID), version=1, timestamp=time.time_ns())


def member_message(key: coincurve.PrivateKey, text: str) -> WakuMessage:
    ms = time.time_ns() // 1_000_000
    chat = chat_pb.ChatMessage(
        clock=ms,
        timestamp=ms,
        text=text,
        chat_id=CID + GENERAL,
        message_type=chat_pb.MessageType.COMMUNITY_CHAT,
        content_type=chat_pb.ChatMessage.ContentType.TEXT_PLAIN,
        display_name="Some Stranger",
    ).SerializeToString()
    app = app_pb.ApplicationMetadataMessage(
        signature=key.sign_recoverable(keccak256(chat), hasher=None),
        payload=chat,
        type=app_pb.ApplicationMetadataMessage.Type.CHAT_MESSAGE,
    ).SerializeToString()
    outer = proto_pb.ProtocolMessage(installation_id="x", public_message=app).SerializeToString()
    sealed = encrypt_symmetric(outer, chat_key(UNIVERSAL), key.secret)
    return WakuMessage(sealed, chat_topic(UNIVERSAL), version=1, timestamp=time.time_ns())


async def get(h: Harness, path: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(h.web_url + path) as resp:
        return await resp.text()


async def poll(h: Harness, path: str, needle: str) -> str:
    async with asyncio.timeout(10):
        while needle not in (body := await get(h, path)):  # noqa: ASYNC110 (HTTP polling)
            await asyncio.sleep(0.05)
    return body


async def test_waits_for_membership_then_posts_on_the_universal_topic(tmp_path: Path) -> None:
    async with running_bridge(tmp_path, configure=configure) as h:
        seen: list[ReceivedMessage] = []

        async def record(received: ReceivedMessage) -> None:
            seen.append(received)

        await h.bridge.node.subscribe(["/waku/2/rs/16/32"], record)
        await h.bridge.node.publish("/waku/2/rs/16/32", description(1, []))
        await poll(h, "/health", "requested")
        metrics = await get(h, "/metrics")
        room = f"status:{h.settings.rooms[0].name}"
        assert f'status_membership{{room="{room}",state="requested"}} 1.0' in metrics

        h.tg.user_sends(h.tg_group, h.alice, "/rooms")
        rooms = await h.tg.wait_for_sent(lambda m: "Status community:" in m.content)
        assert "'Parley Friends': requested (requested to join; the owner must accept" in (
            rooms.content
        )

        h.tg.user_sends(h.tg_group, h.tg_admin, "/room status")
        status = await h.tg.wait_for_sent(lambda m: "delivery(ies) waiting" in m.content)
        assert "Status community: 'Parley Friends': requested" in status.content

        h.tg.user_sends(h.tg_group, h.alice, "queued while waiting")
        await h.dc_copy("queued while waiting")
        await asyncio.sleep(0.3)
        assert not [r for r in seen if r.message.content_topic == chat_topic(UNIVERSAL)]

        member = "0x" + h.bridge_public_key.hex()
        await h.bridge.node.publish("/waku/2/rs/16/32", description(2, [member]))
        await poll(h, "/health", "can_post")

        async def copy() -> str:
            for received in seen:
                if received.message.content_topic != chat_topic(UNIVERSAL):
                    continue
                try:
                    opened = decrypt_symmetric(received.message.payload, chat_key(UNIVERSAL))
                except DecryptionError:
                    continue
                content = parse_status_payload(opened.payload).content
                bridge = getattr(content, "bridge", None)
                if bridge is not None:
                    return str(bridge.content)
            return ""

        async with asyncio.timeout(10):
            while not await copy():  # noqa: ASYNC110 (the node's subscription fills ``seen``)
                await asyncio.sleep(0.05)
        assert await copy() == "queued while waiting"

        # A message from someone who is not a member never reaches Telegram, and is counted.
        stranger = coincurve.PrivateKey(generate_private_key())
        await h.bridge.node.publish("/waku/2/rs/16/32", member_message(stranger, "psst"))
        await poll(h, "/metrics", 'status_refused_total{reason="not_member"} 1.0')
        assert h.tg_copies("psst") == []
