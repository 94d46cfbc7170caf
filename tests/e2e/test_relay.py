"""The whole bridge, end to end: the real python-telegram-bot and discord.py (through the
adapters) against the protocol-level stand-ins, the embedded Waku node with an outside Status
client, and a ``Bridge`` built by ``wire_features`` from a Settings object."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path
from typing import Any

import aiohttp
from PIL import Image

from bridge.model import UserId
from bridge.status import AppMessageType, ContentType
from bridge.store import avatars as avatar_store
from bridge.store.avatars import AvatarRecord
from tests.e2e.harness import Harness, running_bridge


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def _get(h: Harness, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(h.web_url + path) as resp:
        return resp.status, await resp.text()


def _metric(body: str, line_start: str) -> float:
    for line in body.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_telegram_message_reaches_discord_and_waku_exactly_once(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        h.tg.user_sends(h.tg_group, h.alice, "hello from telegram")
        copy = await h.dc_copy("hello from telegram")
        assert copy["author"]["username"].startswith("Alice")
        waku = await h.waku_copy("hello from telegram")
        # The Waku copy opens with the room chat's key and is the bridge's signed BridgeMessage.
        assert waku.signer == h.bridge_public_key
        assert waku.envelope is not None and waku.envelope.signer == h.bridge_public_key
        content = waku.envelope.content
        assert getattr(content, "content_type", None) == ContentType.BRIDGE_MESSAGE
        bridge_fields = getattr(content, "bridge", None)
        assert bridge_fields is not None
        assert (bridge_fields.bridge_name, bridge_fields.user_name) == ("telegram", "Alice")
        assert bridge_fields.content == "hello from telegram"
        assert bridge_fields.user_id == str(h.alice.id)

        # A later message, relayed after the echoes of the first one had their chance.
        h.tg.user_sends(h.tg_group, h.alice, "second message")
        await h.dc_copy("second message")
        await h.waku_copy("second message")
        await h.settle()
        # The Discord webhook echo and the Waku echo never come back; one copy per target.
        assert len(h.dc_messages("hello from telegram")) == 1
        assert len(h.waku_copies("hello from telegram")) == 1
        assert h.tg_copies("hello from telegram") == []
        assert h.dc.events("MESSAGE_CREATE")  # the echo did happen on the gateway

        status, body = await _get(h, "/metrics")
        assert status == 200
        assert _metric(body, 'messages_in_total{platform="telegram"}') == 2.0
        assert _metric(body, 'messages_out_total{platform="discord"}') == 2.0
        assert _metric(body, 'messages_out_total{platform="waku"}') == 2.0
        assert _metric(body, "outbox_depth") == 0.0
        # Our own two publishes came back from the node and were counted (and dropped).
        assert _metric(body, "waku_messages_received_total") >= 2.0
        assert _metric(body, "waku_publish_errors_total") == 0.0

        status, body = await _get(h, "/health")
        assert status == 200, body
        for name in ('"telegram"', '"discord"', '"waku_rooms"', '"relay"'):
            assert name in body
        assert '"status": "up"' in body


async def test_discord_message_reaches_telegram_and_waku(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        h.dc.user_sends(h.channel.id, h.bob, "**loud** and <b>x</b>")
        copy = await h.tg_copy("and <b>x</b>")
        # The bold header names the author; the Discord markdown became a bold entity; the
        # HTML a Discord user typed stays literal text.
        assert copy.content.startswith("Bobby (discord): ")
        assert ("bold", "loud") in copy.entity_texts("bold")
        assert copy.content.endswith("loud and <b>x</b>")
        await h.waku_copy("**loud** and <b>x</b>")  # Status's markdown bold
        await h.settle()
        assert len(h.tg_copies("<b>x</b>")) == 1
        assert len(h.waku_copies("<b>x</b>")) == 1
        assert len(h.dc_messages("<b>x</b>")) == 1  # only bob's own message

        # Telegram bold -> Discord **bold**
        text = "make it strong please"
        h.tg.user_sends(
            h.tg_group, h.alice, text, entities=[{"type": "bold", "offset": 8, "length": 6}]
        )
        relayed = await h.dc_copy("please")
        assert relayed["content"] == "make it **strong** please"


async def test_waku_message_reaches_platforms_and_hostile_ones_do_not(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        await h.waku.say("hello from status")
        tg = await h.tg_copy("hello from status")
        dc = await h.dc_copy("hello from status")
        assert "(waku)" in tg.content
        assert dc["author"]["username"].endswith("(waku)")

        unsigned, _ = h.waku.status_message(h.waku.chat_message("unsigned words"), unsigned=True)
        await h.waku.publish(unsigned)
        wrong, _ = h.waku.status_message(
            h.waku.chat_message("wrongly keyed words"), room_key=os.urandom(32)
        )
        await h.waku.publish(wrong)
        # Inbound Waku messages are handled in order: once this one is through, so are those.
        await h.waku.say("after the hostile ones")
        await h.tg_copy("after the hostile ones")
        await h.dc_copy("after the hostile ones")
        await h.settle()
        for text in ("unsigned words", "wrongly keyed words"):
            assert h.tg_copies(text) == []
            assert h.dc_messages(text) == []
        assert len(h.tg_copies("hello from status")) == 1
        assert len(h.dc_messages("hello from status")) == 1


async def test_replies_stay_replies(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        parent = h.tg.user_sends(h.tg_group, h.alice, "the parent")
        parent_copy = await h.dc_copy("the parent")
        # Bob answers the bridge's copy on Discord: on Telegram it replies to Alice's original.
        h.dc.user_sends(h.channel.id, h.bob, "bob answers", reply_to=int(parent_copy["id"]))
        answer = await h.tg_copy("bob answers")
        assert answer.reply_to is parent
        # Alice answers the bridge's copy of Bob's message: on Discord it points at Bob's.
        bob_original = next(m for m in h.dc.messages(h.channel.id) if m["content"] == "bob answers")
        # The copy's id is recorded once the delivery commits (a person is never faster).
        await h.settle()
        h.tg.user_sends(h.tg_group, h.alice, "alice answers back", reply_to=answer)
        back = await h.dc_copy("alice answers back")
        assert bob_original["id"] in back["content"]  # the jump link to the parent
        # On Waku the reply names its parent's Status id.
        waku_reply = await h.waku_copy("bob answers")
        waku_parent = await h.waku_copy("the parent")
        assert waku_parent.envelope is not None and waku_reply.envelope is not None
        assert getattr(waku_reply.envelope.content, "response_to", "") == (
            "0x" + waku_parent.envelope.message_id.hex()
        )


async def test_edits_follow(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        original = h.tg.user_sends(h.tg_group, h.alice, "first draft")
        copy = await h.dc_copy("first draft")
        await h.waku_copy("first draft")
        h.tg.user_edits(h.tg_group, original, "final text")
        await h.dc.wait_for(
            lambda: h.dc.message(h.channel.id, int(copy["id"]))["content"] == "final text"
        )
        assert h.dc.requests("PATCH /webhooks/*/*/messages/*")
        edits = await h.waku.wait_for(
            lambda: [
                s
                for s in h.waku.from_signer(h.bridge_public_key)
                if s.envelope is not None and s.envelope.message_type == AppMessageType.EDIT_MESSAGE
            ]
        )
        assert getattr(edits[0].envelope.content, "text", "").endswith("final text")  # type: ignore[union-attr]

        # Discord edit -> Telegram edit of the bridge's copy
        sent = h.dc.user_sends(h.channel.id, h.bob, "bob typed this")
        tg_copy = await h.tg_copy("bob typed this")
        h.dc.user_edits(h.channel.id, int(sent["id"]), "bob fixed this")
        await h.tg.wait_until(lambda: tg_copy.content.endswith("bob fixed this"), 10)
        await h.settle()
        assert len(h.tg_copies("bob")) == 1


async def test_deletes_follow(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        # Discord delete -> the Telegram copy goes.
        sent = h.dc.user_sends(h.channel.id, h.bob, "regrettable")
        tg_copy = await h.tg_copy("regrettable")
        h.dc.user_deletes(h.channel.id, int(sent["id"]))
        await h.tg.wait_until(lambda: tg_copy.deleted, 10)

        # Telegram /delete (a reply, by the author) -> Discord + Waku copies, the original
        # and the command message itself go.
        original = h.tg.user_sends(h.tg_group, h.alice, "oops wrong chat")
        dc_copy = await h.dc_copy("oops wrong chat")
        waku_copy = await h.waku_copy("oops wrong chat")
        # Someone else may not.
        intruder = h.tg.add_user("Eve", username="eve")
        h.tg.set_member(h.tg_group, intruder)
        h.tg.user_starts_bot(intruder)
        h.tg.user_sends(h.tg_group, intruder, "/delete", reply_to=original)
        refusal = await h.tg.wait_for_sent(lambda m: "Only the message's author" in m.content)
        assert refusal.chat.id == h.tg_group.id  # a refusal that reveals nothing
        assert not original.deleted

        command = h.tg.user_sends(h.tg_group, h.alice, "/delete", reply_to=original)
        await h.dc.wait_for(lambda: not h.dc_messages("oops wrong chat"), 10)
        assert int(dc_copy["id"]) in [int(m["id"]) for m in h.dc.deleted_messages]
        assert waku_copy.envelope is not None
        waku_id = "0x" + waku_copy.envelope.message_id.hex()
        await h.waku.wait_for(
            lambda: [
                s
                for s in h.waku.from_signer(h.bridge_public_key)
                if s.envelope is not None
                and s.envelope.message_type == AppMessageType.DELETE_MESSAGE
                and getattr(s.envelope.content, "target_id", "") == waku_id
            ]
        )
        await h.tg.wait_until(lambda: original.deleted and command.deleted, 10)


async def test_reactions(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        original = h.tg.user_sends(h.tg_group, h.alice, "react to me")
        copy = await h.dc_copy("react to me")
        h.dc.user_reacts(h.channel.id, int(copy["id"]), h.bob, "👍")
        await h.tg.wait_until(lambda: original.reactions.get(h.tg_bot.id) == ["👍"], 10)
        # Telegram has no parrot: skipped without an error or a retry loop.
        h.dc.user_reacts(h.channel.id, int(copy["id"]), h.bob, "🦜")
        h.dc.user_reacts(h.channel.id, int(copy["id"]), h.bob, "🔥")
        await h.tg.wait_until(lambda: original.reactions.get(h.tg_bot.id) == ["🔥"], 10)
        await h.settle()
        calls = h.tg.calls("setMessageReaction")
        assert all(c.status == 200 for c in calls)
        assert len(calls) == 2
        _, body = await _get(h, "/metrics")
        assert _metric(body, 'delivery_failures_total{platform="telegram"}') == 0.0
        assert _metric(body, 'delivery_retries_total{platform="telegram"}') == 0.0
        assert h.relay.outbox.open_rows == 0


async def test_image_long_text_and_mentions(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        png = _png()
        h.tg.user_sends(h.tg_group, h.alice, photo=png, caption="a red square")
        copy = await h.dc_copy("a red square")
        [attachment] = copy["attachments"]
        assert h.dc.file_bytes(attachment["url"]) == png

        # Mention injection from Telegram is neutralised on Discord.
        h.tg.user_sends(h.tg_group, h.alice, "@everyone <@&123> look")
        injected = await h.dc_copy("look")
        assert not injected["mention_everyone"] and injected["mention_roles"] == []
        execution = next(e for e in h.dc.webhook_executions if "look" in (e.content or ""))
        assert execution.payload["allowed_mentions"] == {"parse": []}

        # A 6000-character announcement is split on both platforms (and truncated on Waku).
        words = " ".join(f"w{i:04d}" for i in range(1000))  # 5999 characters
        assert len(words) >= 5999
        await h.relay.notifier.announce_room(h.tg_ref, words)
        await h.settle()
        tg_parts = [m for m in h.tg.sent_messages(h.tg_group) if "w0" in m.content]
        dc_parts = [m for m in h.dc.messages(h.channel.id) if "w0" in m["content"]]
        assert len(tg_parts) >= 2 and len(dc_parts) >= 3
        assert "w0999" in tg_parts[-1].content and "w0999" in dc_parts[-1]["content"]
        assert all(len(m["content"]) <= 2000 for m in dc_parts)
        assert await h.waku_copy("w0000")


async def test_commands(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        h.tg.user_sends(h.tg_group, h.alice, "/help")
        help_tg = await h.tg.wait_for_sent(lambda m: "parley commands:" in m.content)
        for name in ("/rooms", "/delete", "/link", "/whois", "/post", "/help"):
            assert name in help_tg.content
        assert "/room join" not in help_tg.content  # admins only

        await h.dc.wait_for(lambda: h.dc.commands)
        interaction = h.dc.user_invokes_command("help", {}, h.channel.id, h.bob)
        await h.dc.wait_for(lambda: interaction.responses)
        assert "/rooms" in str(interaction.responses[0].content)

        h.tg.user_sends(h.tg_group, h.alice, "/rooms")
        rooms = await h.tg.wait_for_sent(lambda m: "rooms:" in m.content)
        assert "main (this chat): telegram, discord, waku" in rooms.content
        assert str(h.tg_group.id) not in rooms.content  # ids are for admins
        h.tg.user_sends(h.tg_group, h.tg_admin, "/rooms")
        admin_rooms = await h.tg.wait_for_sent(
            lambda m: "rooms:" in m.content and str(h.tg_group.id) in m.content
        )
        assert str(h.channel.id) in admin_rooms.content

        h.tg.user_sends(h.tg_group, h.alice, "/frobnicate@parley_bot")
        await h.tg.wait_for_sent(lambda m: "Unknown command /frobnicate" in m.content)
        h.tg.user_starts_bot(h.alice)
        h.tg.user_sends(h.tg_group, h.alice, "/room status")
        await h.tg.wait_for_sent(lambda m: "/room is for bridge admins only" in m.content)

        # Admin room management: a second group joins the room, and relays.
        h.tg.user_starts_bot(h.tg_admin)
        h.tg.user_sends(h.tg_group, h.tg_admin, "/room")
        await h.tg.wait_for_sent(
            lambda m: "Usage: /room join <name> | create <name> | leave | status" in m.content
        )
        h.tg.user_sends(h.tg_group, h.tg_admin, "/room status")
        status = await h.tg.wait_for_sent(lambda m: m.content.startswith("Room main:"))
        assert "telegram: connected" in status.content
        assert "discord: connected" in status.content
        assert "no delivery errors" in status.content

        second = h.tg.add_chat(
            "supergroup", "Annex", members=[h.alice, h.tg_admin], bots=[h.tg_bot]
        )
        h.tg.user_sends(second, h.tg_admin, "/room join main")
        await h.tg.wait_for_sent(lambda m: "joined room main" in m.content, chat=second)
        h.tg.user_sends(second, h.alice, "from the annex")
        await h.dc_copy("from the annex")
        await h.tg_copy("from the annex")  # the first group gets it too
        h.tg.user_sends(second, h.tg_admin, "/room leave")
        await h.tg.wait_for_sent(lambda m: "left room main" in m.content, chat=second)


async def test_room_joined_in_chat_survives_a_restart(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        annex = h.dc.add_text_channel(h.guild, "annex")
        await h.dc.wait_for(lambda: h.dc.commands)
        interaction = h.dc.user_invokes_command(
            "room", {"action": "join", "name": "main"}, annex.id, h.dc_admin
        )
        await h.dc.wait_for(lambda: interaction.responses)
        assert "joined room main" in str(interaction.responses[0].content)
        h.dc.user_sends(annex.id, h.bob, "annex before restart")
        await h.tg_copy("annex before restart")

        await h.restart()
        h.dc.user_sends(annex.id, h.bob, "annex after restart")
        await h.tg_copy("annex after restart")
        h.tg.user_sends(h.tg_group, h.alice, "to every channel")
        await h.dc.wait_for(
            lambda: [
                m for m in h.dc.messages(annex.id) if m["content"].endswith("to every channel")
            ]
        )


async def test_notifier_and_verified_avatar_mark(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        notifier = h.relay.notifier
        assert not await notifier.tell_user("telegram", UserId(str(h.alice.id)), "psst")
        h.tg.user_starts_bot(h.alice)
        assert await notifier.tell_user("telegram", UserId(str(h.alice.id)), "psst")
        await h.tg.wait_for_sent(lambda m: m.content == "psst" and m.chat.type == "private")
        assert await notifier.tell_user("discord", UserId(str(h.bob.id)), "psst bob")
        dm = h.dc.dm_channel(h.bob)
        await h.dc.wait_for(lambda: [m for m in h.dc.messages(dm.id) if m["content"] == "psst bob"])
        assert not await notifier.tell_user("waku", UserId("0x00"), "nope")

        await notifier.announce(h.dc_ref, "only on discord")
        await h.dc.wait_for(lambda: h.dc_messages("only on discord"))
        await h.settle()
        assert h.tg_copies("only on discord") == []

        # Bob's verified NFT avatar (as /avatar leaves it in the store) marks his name.
        png = _png()
        record = AvatarRecord(
            platform="discord",
            user_id=str(h.bob.id),
            caip19="eip155:1/erc721:0x" + "11" * 20 + "/1",
            wallet="0x" + "22" * 20,
            block=1,
            collection="Squares",
            name="Red #1",
            image_sha256="ab" * 32,
            verified_at=int(time.time()),
        )
        async with h.bridge.store.transaction() as db:
            await avatar_store.put(db, record, png, "png")
        h.dc.user_sends(h.channel.id, h.bob, "with my nft")
        marked = await h.tg_copy("with my nft")
        assert marked.content.startswith("Bobby ✓ (discord): ")
        waku = await h.waku_copy("with my nft")
        fields: Any = getattr(waku.envelope, "content", None)
        assert fields.bridge.user_avatar == f"{h.settings.web.public_url}/avatars/{'ab' * 32}.png"
