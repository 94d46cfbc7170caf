"""The "verified ✓" mark comes only from the bridge's own avatar records, through the whole bridge.

A name cannot carry the mark (or a look-alike, or invisible characters around it), and a Waku
sender cannot claim one by pointing its BridgeMessage avatar at the bridge's own
``/avatars/`` URLs; an account with a verified avatar in the store does get it.
"""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

from PIL import Image

from bridge.proto import chat_message_pb2 as chat_pb
from bridge.status import ChatType
from bridge.store import avatars as avatar_store
from bridge.store.avatars import AvatarRecord
from tests.e2e.harness import running_bridge

MARKS = ("✓", "✔", "☑", "✅", "🗸", "🗹", "√")


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (10, 200, 30)).save(out, "PNG")
    return out.getvalue()


def _bridge_message(chat_id: str, text: str, user: str, avatar: str) -> bytes:
    """A Status ChatMessage carrying a BridgeMessage (status-go's chat_message.proto fields)."""
    ms = time.time_ns() // 1_000_000
    return chat_pb.ChatMessage(
        clock=ms,
        timestamp=ms,
        chat_id=chat_id,
        message_type=chat_pb.MessageType.ValueType(ChatType.COMMUNITY_CHAT),
        content_type=chat_pb.ChatMessage.ContentType.ValueType(18),  # BRIDGE_MESSAGE
        bridge_message=chat_pb.BridgeMessage(
            bridgeName="discord",
            userName=user,
            userAvatar=avatar,
            userID="42",
            content=text,
            messageID="m-1",
        ),
    ).SerializeToString()


async def test_only_the_bridges_records_mark_a_name_verified(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        public_url = h.settings.web.public_url
        # A Discord user whose name ends in the mark, wrapped in invisible characters.
        mallory = h.dc.add_member(h.guild, "mallory", global_name="Bob \u2060✓\ufeff")
        h.dc.user_sends(h.channel.id, mallory, "i am totally verified")
        copy = await h.tg_copy("i am totally verified")
        header = copy.content.split(": ", 1)[0]
        assert header == "Bob (discord)", header
        assert not any(mark in copy.content for mark in MARKS)

        # Look-alikes and Hangul fillers go too, everywhere the name is shown.
        eve = h.dc.add_member(h.guild, "eve", global_name="Eve ✔️ ☑ ✅ 🗸 🗹\u3164\u115f")
        h.dc.user_sends(h.channel.id, eve, "lookalike marks")
        copy = await h.tg_copy("lookalike marks")
        assert copy.content.startswith("Eve (discord): "), copy.content
        waku = await h.waku_copy("lookalike marks")
        fields: Any = waku.envelope.content if waku.envelope is not None else None
        assert fields.bridge.user_name == "Eve"

        # A Waku sender pointing its BridgeMessage avatar at the bridge's own avatar URLs.
        forged = f"{public_url}/avatars/{'ab' * 32}.png"
        inner = _bridge_message(h.waku.chat_id, "forged avatar here", "Bobby", forged)
        message, _ = h.waku.status_message(inner)
        await h.waku.publish(message)
        copy = await h.tg_copy("forged avatar here")
        assert "✓" not in copy.content, copy.content
        hook = await h.dc_copy("forged avatar here")
        assert hook.get("avatar_url") != forged

        # A verified avatar in the store for exactly this account: the mark appears.
        record = AvatarRecord(
            platform="discord",
            user_id=str(h.bob.id),
            caip19="eip155:1/erc721:0x" + "11" * 20 + "/1",
            wallet="0x" + "22" * 20,
            block=1,
            collection="Squares",
            name="Green #1",
            image_sha256="cd" * 32,
            verified_at=int(time.time()),
        )
        async with h.bridge.store.transaction() as db:
            await avatar_store.put(db, record, _png(), "png")
        h.dc.user_sends(h.channel.id, h.bob, "really verified")
        copy = await h.tg_copy("really verified")
        assert copy.content.startswith("Bobby ✓ (discord): "), copy.content
        # ... and only that account: the same display name from another account gets none.
        twin = h.dc.add_member(h.guild, "bob2", global_name="Bobby")
        h.dc.user_sends(h.channel.id, twin, "twin speaking")
        copy = await h.tg_copy("twin speaking")
        assert copy.content.startswith("Bobby (discord): "), copy.content
