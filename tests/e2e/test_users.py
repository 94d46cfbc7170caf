"""What users notice (issue 12 and /link in a private chat), through the real bridge: the real
python-telegram-bot and discord.py against the protocol-level stand-ins."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from bridge.identity.service import short_address
from bridge.store import avatars as avatar_store
from bridge.store.avatars import AvatarRecord
from tests.e2e.harness import TIMEOUT, Harness, running_bridge, with_tuning
from tests.e2e.harness import test_tuning as fast_tuning
from tests.e2e.test_identity_e2e import KEY_ONE, _address, _link
from tests.fakes.telegram import FakeMessage
from tests.fakes.telegram import FakeUser as TgUser


async def test_reactions_of_several_people_are_aggregated(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        carol = h.tg.add_user("Carol", username="carol")
        h.tg.set_member(h.tg_group, carol)
        original = h.tg.user_sends(h.tg_group, h.alice, "react to me")
        copy = await h.dc_copy("react to me")
        dc_id = int(copy["id"])
        await h.settle()

        def bot_has(emoji: str) -> bool:
            message = h.dc.message(h.channel.id, dc_id)
            return any(
                r["emoji"]["name"] == emoji and r["me"] for r in message.get("reactions") or []
            )

        # Alice and Carol both put 👍 on Telegram; Carol takes hers back: Alice's still stands.
        h.tg.user_reacts(h.tg_group, h.alice, original, "👍")
        h.tg.user_reacts(h.tg_group, carol, original, "👍")
        await h.dc.wait_for(lambda: bot_has("👍"), 10)
        h.tg.user_reacts(h.tg_group, carol, original, None)
        await h.settle()
        assert bot_has("👍")
        h.tg.user_reacts(h.tg_group, h.alice, original, None)
        await h.dc.wait_for(lambda: not bot_has("👍"), 10)

        # On Telegram the bot shows the most used emoji of the Discord side, and removing one
        # person's reaction never clears what others still have.
        h.dc.user_reacts(h.channel.id, dc_id, h.bob, "👍")
        await h.tg.wait_until(lambda: original.reactions.get(h.tg_bot.id) == ["👍"], 10)
        h.dc.user_reacts(h.channel.id, dc_id, h.dc_admin, "🔥")
        h.dc.user_reacts(h.channel.id, dc_id, h.bob, "🔥")
        await h.tg.wait_until(lambda: original.reactions.get(h.tg_bot.id) == ["🔥"], 10)
        h.dc.user_unreacts(h.channel.id, dc_id, h.bob, "🔥")
        await h.settle()
        # 🔥 (Dora) and 👍 (Bob) are tied; 🔥 is the more recent: it stays.
        assert original.reactions.get(h.tg_bot.id) == ["🔥"]
        h.dc.user_unreacts(h.channel.id, dc_id, h.dc_admin, "🔥")
        await h.tg.wait_until(lambda: original.reactions.get(h.tg_bot.id) == ["👍"], 10)
        h.dc.user_unreacts(h.channel.id, dc_id, h.bob, "👍")
        await h.tg.wait_until(lambda: h.tg_bot.id not in original.reactions, 10)
        # The Telegram people's reactions never came back to Discord as the bot's.
        assert not bot_has("🔥")


def _png(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


async def _group_answer(h: Harness, user: TgUser, text: str, **kw: Any) -> FakeMessage:
    """``user`` sends ``text`` in the group; the bot's reply to it there."""
    command = h.tg.user_sends(h.tg_group, user, text, **kw)
    return await h.tg.wait_for_sent(lambda m: m.reply_to is command, TIMEOUT, chat=h.tg_group)


async def test_answers_in_the_group_unless_they_hold_a_one_time_link(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        # Alice never opened a private chat with the bot: answers that reveal nothing reach
        # her in the group, not as "open a private chat and press Start".
        usage = await _group_answer(h, h.alice, "/delete")
        assert usage.content.startswith("Reply to the message you want to delete.")
        refused = await _group_answer(h, h.alice, "/room status")
        assert refused.content == "/room is for bridge admins only."
        unknown = await _group_answer(h, h.alice, "/foo")
        assert unknown.content.startswith("Unknown command /foo. Commands: ")
        assert "/help" in unknown.content and "/rooms" in unknown.content
        assert "/room " not in unknown.content  # admin commands are not offered to her
        unlinked = await _group_answer(h, h.alice, "/unlink")
        assert unlinked.content == "Nothing to unlink: you have no linked wallet."
        assert not any("press Start" in m.content for m in h.tg.sent_messages(h.tg_group))
        # Only the one-time link stays private: the hint is for that.
        hint = await _group_answer(h, h.alice, "/link")
        assert "open a private chat with @parley_bot and press Start" in hint.content
        assert "/link/" not in hint.content
        # On Discord the same answers are visible to the channel, the link ephemeral.
        await h.dc.wait_for(lambda: h.dc.commands)
        interaction = h.dc.user_invokes_command("delete", {}, h.channel.id, h.bob)
        await h.dc.wait_for(lambda: interaction.responses)
        assert not interaction.responses[0].ephemeral
        link = h.dc.user_invokes_command("link", {}, h.channel.id, h.bob)
        await h.dc.wait_for(lambda: link.responses)
        assert link.responses[0].ephemeral


async def test_delete_reports_what_was_and_was_not_deleted(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        # The bot is a plain member of the group: Telegram refuses it Alice's message.
        h.tg.set_member(h.tg_group, h.tg_bot, "member")
        original = h.tg.user_sends(h.tg_group, h.alice, "oops wrong chat")
        await h.dc_copy("oops wrong chat")
        await h.waku_copy("oops wrong chat")
        await h.settle()
        report = await _group_answer(h, h.alice, "/delete", reply_to=original)
        assert not original.deleted
        assert h.dc_messages("oops wrong chat") == []
        lines = report.content.splitlines()
        assert lines[0] == "Deleted on discord, waku."
        assert lines[1].startswith("Not deleted on telegram: ")
        assert "Message can't be deleted" in lines[1]
        assert "the bot needs to be an admin with the Delete messages right" in lines[1]

        # A Discord message deleted with /delete by its author: everything goes.
        sent = h.dc.user_sends(h.channel.id, h.bob, "bob regrets")
        tg_copy = await h.tg_copy("bob regrets")
        await h.settle()
        interaction = h.dc.user_invokes_command(
            "delete", {"message": sent["id"]}, h.channel.id, h.bob
        )
        await h.dc.wait_for(lambda: interaction.responses, TIMEOUT)
        final = await h.dc.wait_for(
            lambda: [
                r.data.get("content")
                for r in interaction.responses
                if isinstance(r.data.get("content"), str)
            ],
            TIMEOUT,
        )
        assert final[-1] == "Deleted on discord, telegram, waku."
        assert tg_copy.deleted


async def test_link_in_a_private_chat_confirms_there(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h, aiohttp.ClientSession() as http:
        h.tg.user_starts_bot(h.alice)
        dm = h.tg.private_chat(h.alice)
        h.tg.user_sends(dm, h.alice, "/link")
        sent = await h.tg.wait_for_sent(lambda m: "/link/" in m.content, TIMEOUT, chat=dm)
        token = re.search(r"/link/([A-Za-z0-9_\-]{43})", sent.content)
        assert token is not None
        await _link(http, h, token.group(1), KEY_ONE)
        wallet = short_address(_address(KEY_ONE))
        told = await h.tg.wait_for_sent(lambda m: " linked 0x" in m.content, TIMEOUT, chat=dm)
        assert told.content == f"@alice_tg linked {wallet}"


async def _get(h: Harness, path: str) -> tuple[int, str]:
    async with aiohttp.ClientSession() as http, http.get(h.web_url + path) as resp:
        return resp.status, await resp.text()


def _metric(body: str, line_start: str) -> float | None:
    for line in body.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return None


async def test_telegram_intake_skips_an_unparsable_update_and_reports_a_dead_poller(
    tmp_path: Path,
) -> None:
    async with running_bridge(tmp_path) as h:
        # A reaction update without message_id: python-telegram-bot cannot build it.
        bad = h.tg.push_raw_update(
            "message_reaction",
            {"chat": h.tg_group.to_api(), "user": h.alice.to_api(), "date": 1},
        )
        h.tg.user_sends(h.tg_group, h.alice, "after the bad update")
        await h.dc_copy("after the bad update")
        status, body = await _get(h, "/health")
        assert status == 200, body
        assert f"1 unparsable update(s) skipped, the last {bad}: TypeError" in body
        # The offset moved past it: a restart does not meet it again.
        await h.restart()
        h.tg.user_sends(h.tg_group, h.alice, "after the restart")
        await h.dc_copy("after the restart")
        status, body = await _get(h, "/health")
        assert "unparsable" not in body

        # A poller that ended is reported as down.
        [poller] = [t for t in asyncio.all_tasks() if t.get_name() == "telegram-poll"]
        poller.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
        # A scrape sees it without anyone asking /health first.
        _, metrics = await _get(h, "/metrics")
        assert _metric(metrics, 'component_up{component="telegram"}') == 0.0
        status, body = await _get(h, "/health")
        assert status == 503, body


def _words(count: int, tag: str) -> str:
    return " ".join(f"{tag}{i:04d}" for i in range(count))


async def test_edits_that_grow_and_shrink_keep_the_parts_in_step(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        original = h.tg.user_sends(h.tg_group, h.alice, "short start")
        copy = await h.dc_copy("short start")
        # 3,500 characters: two parts on Discord, no text dropped.
        long_text = _words(583, "g")
        assert len(long_text) >= 3_490
        h.tg.user_edits(h.tg_group, original, long_text)

        def dc_parts(tag: str) -> list[dict[str, Any]]:
            return [m for m in h.dc.messages(h.channel.id) if tag in m["content"]]

        await h.dc.wait_for(lambda: len(dc_parts("g0")) == 2 and "g0582" in str(dc_parts("g0")))
        assert int(dc_parts("g0")[0]["id"]) == int(copy["id"])
        assert all(len(m["content"]) <= 2000 for m in dc_parts("g0"))
        assert "…" not in dc_parts("g0")[-1]["content"]

        # After a restart the parts are still known: growing adds a third, shrinking removes.
        await h.settle()
        await h.restart()
        h.tg.user_edits(h.tg_group, original, _words(900, "h"))
        await h.dc.wait_for(lambda: len(dc_parts("h0")) == 3 and "h0899" in str(dc_parts("h0")))
        assert dc_parts("g0") == []
        h.tg.user_edits(h.tg_group, original, "short again")
        await h.dc.wait_for(lambda: not dc_parts("h0"))
        assert h.dc.message(h.channel.id, int(copy["id"]))["content"] == "short again"
        # The shrunk layout is what a later restart knows: growing again adds fresh parts.
        await h.settle()
        await h.restart()
        h.tg.user_edits(h.tg_group, original, _words(500, "k"))
        await h.dc.wait_for(lambda: len(dc_parts("k0")) == 2 and "k0499" in str(dc_parts("k0")))

        # Discord: an image with a long text. On Telegram the caption holds 1,024 units and
        # the rest follows as a text part; an edit keeps both in step (also after a restart).
        caption_text = _words(300, "c")  # 1,799 characters
        sent = h.dc.user_sends(h.channel.id, h.bob, caption_text, attachments=[("a.png", _png())])
        photo = await h.tg.wait_for_sent(lambda m: bool(m.photo) and "c0000" in m.content)
        rest = await h.tg.wait_for_sent(lambda m: not m.photo and "c0299" in m.content)
        assert len(photo.content) <= 1024
        await h.settle()
        await h.restart()
        h.dc.user_edits(h.channel.id, int(sent["id"]), _words(330, "d"))
        await h.tg.wait_until(lambda: "d0329" in rest.content, 10)
        assert photo.content.startswith("Bobby (discord): d0000")
        assert not rest.deleted and not photo.deleted
        h.dc.user_edits(h.channel.id, int(sent["id"]), "tiny caption")
        await h.tg.wait_until(lambda: rest.deleted, 10)
        assert photo.content == "Bobby (discord): tiny caption"
        h.dc.user_edits(h.channel.id, int(sent["id"]), _words(250, "e"))
        extra = await h.tg.wait_for_sent(lambda m: not m.photo and "e0249" in m.content)
        assert "e0000" in photo.content and not extra.deleted


async def test_telegram_profile_photos_become_discord_avatars(tmp_path: Path) -> None:
    tuning = with_tuning(fast_tuning(), profile_photo_refresh=0.0)
    async with running_bridge(tmp_path, tuning=tuning) as h:
        red = _png((220, 20, 20), (400, 300))
        h.tg.set_profile_photo(h.alice, red)
        h.tg.user_sends(h.tg_group, h.alice, "with my face")
        await h.dc_copy("with my face")
        [execution] = [e for e in h.dc.webhook_executions if "with my face" in (e.content or "")]
        avatar = execution.payload.get("avatar_url")
        public = h.settings.web.public_url
        assert isinstance(avatar, str) and avatar.startswith(f"{public}/photos/"), avatar
        async with aiohttp.ClientSession() as http, http.get(avatar) as resp:
            assert resp.status == 200 and resp.headers["Content-Type"] == "image/png"
            with Image.open(io.BytesIO(await resp.read())) as image:
                assert image.size == (256, 256)
                pixel = image.convert("RGB").getpixel((128, 128))
                assert isinstance(pixel, tuple) and pixel[0] > 200
        assert h.tg.calls("getUserProfilePhotos")
        # Not a verified mark: a profile photo is not an NFT.
        await h.waku_copy("with my face")
        assert "✓" not in h.dc_messages("with my face")[0]["author"]["username"]

        # A new photo is picked up at a refresh (here: at once, in the background).
        h.tg.set_profile_photo(h.alice, _png((20, 20, 220), (300, 300)))

        async def newest_avatar(text: str) -> str:
            h.tg.user_sends(h.tg_group, h.alice, text)
            await h.dc_copy(text)
            found = [e for e in h.dc.webhook_executions if text in (e.content or "")]
            return str(found[0].payload.get("avatar_url"))

        for attempt in range(50):
            changed = await newest_avatar(f"refresh {attempt}")
            if changed != avatar:
                break
        assert changed != avatar and changed.startswith(f"{public}/photos/")

        # A verified NFT avatar takes precedence.
        record = AvatarRecord(
            platform="telegram",
            user_id=str(h.alice.id),
            caip19="eip155:1/erc721:0x" + "11" * 20 + "/1",
            wallet="0x" + "22" * 20,
            block=1,
            collection="Squares",
            name="Red #1",
            image_sha256="ab" * 32,
            verified_at=int(time.time()),
        )
        async with h.bridge.store.transaction() as db:
            await avatar_store.put(db, record, _png(), "png")
        nft = await newest_avatar("with my nft")
        assert nft == f"{public}/avatars/{'ab' * 32}.png"


def _gif() -> bytes:
    out = io.BytesIO()
    frames = [Image.new("RGB", (32, 32), c) for c in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


async def test_forwards_polls_contacts_embeds_files_and_gifs(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        carol = h.tg.add_user("Carol", username="carol", last_name="Jones")
        h.tg.user_sends(
            h.tg_group,
            h.alice,
            "worth reading",
            extra={"forward_origin": {"type": "user", "date": 1, "sender_user": carol.to_api()}},
        )
        forwarded = await h.dc_copy("worth reading")
        assert forwarded["content"].startswith("\\[forwarded from Carol Jones\\]")
        poll = {
            "id": "1",
            "question": "Lunch?",
            "options": [
                {"persistent_id": "p1", "text": "Pizza", "voter_count": 0},
                {"persistent_id": "p2", "text": "Sushi", "voter_count": 0},
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": True,
            "type": "regular",
            "allows_multiple_answers": False,
            "allows_revoting": False,
            "members_only": False,
        }
        h.tg.user_sends(h.tg_group, h.alice, extra={"poll": poll})
        relayed = await h.dc_copy("Lunch?")
        assert "Pizza" in relayed["content"] and "Sushi" in relayed["content"]
        contact = {"phone_number": "+15550100", "first_name": "Dan", "last_name": "Lee"}
        h.tg.user_sends(h.tg_group, h.alice, extra={"contact": contact})
        card = await h.dc_copy("contact")
        assert "Dan Lee" in card["content"] and "+15550100" in card["content"]

        # A Discord forward: the snapshot's text, marked as forwarded, not as a reply.
        elsewhere = h.dc.add_text_channel(h.guild, "elsewhere")
        source = h.dc.user_sends(elsewhere.id, h.dc_admin, "original words")
        h.dc.user_forwards(h.channel.id, h.bob, elsewhere.id, int(source["id"]))
        forward = await h.tg_copy("original words")
        assert forward.content == "Bobby (discord): [forwarded message]\noriginal words"
        assert forward.reply_to is None

        # A Discord message of embeds only is relayed with what the embeds say.
        embed = {"title": "Release 1.2", "description": "Notes inside", "url": "https://x.test/r"}
        h.dc.user_sends(h.channel.id, h.bob, "", embeds=[embed])
        embedded = await h.tg_copy("Release 1.2")
        assert "Notes inside" in embedded.content and "https://x.test/r" in embedded.content

        # Two files: each carries the sender's name on Telegram. A GIF is an animation.
        h.dc.user_sends(
            h.channel.id, h.bob, "two files", attachments=[("a.png", _png()), ("b.gif", _gif())]
        )
        first = await h.tg.wait_for_sent(lambda m: bool(m.photo) and "two files" in m.content)
        second = await h.tg.wait_for_sent(lambda m: m.animation is not None)
        assert first.content.startswith("Bobby (discord): ")
        assert second.content == "Bobby (discord)"
        assert h.tg.calls("sendAnimation")

        # "File too large" notices use one set of units.
        big = bytes(9 * 1024 * 1024)
        h.dc.user_sends(h.channel.id, h.bob, "big one", attachments=[("big.bin", big)])
        notice = await h.tg_copy("big one")
        assert "[file too large to relay: big.bin (9.0 MiB)]" in notice.content


async def test_room_join_refuses_unknown_rooms_and_status_reports_failures(
    tmp_path: Path,
) -> None:
    async with running_bridge(tmp_path) as h:
        second = h.tg.add_chat("supergroup", "Annex", members=[h.tg_admin], bots=[h.tg_bot])
        h.tg.user_sends(second, h.tg_admin, "/room join mian")
        refused = await h.tg.wait_for_sent(lambda m: "no room mian" in m.content, chat=second)
        assert "/room create mian" in refused.content
        assert h.relay.router.room("mian") is None
        h.tg.user_sends(second, h.tg_admin, "/room create side")
        await h.tg.wait_for_sent(lambda m: "joined room side" in m.content, chat=second)
        assert h.relay.router.room("side") is not None

        # Telegram answers 500 twice; the copy goes through on the third attempt.
        h.tg.fail_next("sendMessage", 500, count=2)
        h.dc.user_sends(h.channel.id, h.bob, "through the storm")
        await h.tg_copy("through the storm")
        await h.settle()
        status = await _group_answer(h, h.tg_admin, "/room status")
        assert "delivery errors in the last hour:" in status.content, status.content
        assert "telegram: 1 delivered after retrying" in status.content
        assert "Internal Server Error" in status.content
        assert "no delivery errors" not in status.content


async def test_a_status_message_too_long_for_status_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with running_bridge(tmp_path) as h:
        words = " ".join(f"w{i:04d}" for i in range(1000))  # 5,999 characters
        message, _ = h.waku.status_message(h.waku.chat_message(words))
        with caplog.at_level(logging.INFO, logger="bots.waku.adapter"):
            await h.waku.publish(message)
            await h.waku.say("after the long one")
            await h.tg_copy("after the long one")
        assert any(
            "longer than 4096" in r.getMessage() and "dropped" in r.getMessage()
            for r in caplog.records
        ), [r.getMessage() for r in caplog.records]


async def test_discord_edits_and_deletes_made_while_down_are_applied(tmp_path: Path) -> None:
    async with running_bridge(tmp_path) as h:
        changed = h.dc.user_sends(h.channel.id, h.bob, "will change")
        vanished = h.dc.user_sends(h.channel.id, h.bob, "will vanish")
        kept = h.dc.user_sends(h.channel.id, h.bob, "stays as it is")
        tg_changed = await h.tg_copy("will change")
        tg_vanished = await h.tg_copy("will vanish")
        tg_kept = await h.tg_copy("stays as it is")
        await h.settle()
        await h.stop_bridge()
        h.dc.user_edits(h.channel.id, int(changed["id"]), "changed while away")
        h.dc.user_deletes(h.channel.id, int(vanished["id"]))
        await h.start_bridge()
        await h.tg.wait_until(lambda: tg_changed.content.endswith("changed while away"), 10)
        await h.tg.wait_until(lambda: tg_vanished.deleted, 10)
        await h.settle()
        assert not tg_kept.deleted and tg_kept.content.endswith("stays as it is")
        assert int(kept["id"]) > 0


async def test_metrics_survive_a_restart_and_the_waku_rest_port_serves_them(
    tmp_path: Path,
) -> None:
    async with running_bridge(tmp_path) as h:
        h.tg.user_sends(h.tg_group, h.alice, "count me")
        await h.dc_copy("count me")
        await h.settle()
        _, body = await _get(h, "/metrics")
        assert _metric(body, 'messages_in_total{platform="telegram"}') == 1.0
        await h.restart()
        _, body = await _get(h, "/metrics")
        assert _metric(body, 'messages_in_total{platform="telegram"}') == 1.0
        assert _metric(body, 'messages_out_total{platform="discord"}') == 1.0
        h.tg.user_sends(h.tg_group, h.alice, "count me too")
        await h.dc_copy("count me too")
        await h.settle()
        rest = h.bridge.waku_rest
        assert rest is not None
        async with aiohttp.ClientSession() as http, http.get(rest.url + "/metrics") as resp:
            assert resp.status == 200
            waku_body = await resp.text()
        assert _metric(waku_body, 'messages_in_total{platform="telegram"}') == 2.0
