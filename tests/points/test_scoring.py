"""Scoring through the real router and store: what counts, the anti-gaming rules, the audit
trail, and the commands' replies."""

from __future__ import annotations

from pathlib import Path

from bridge.store import points as points_store
from tests.points.support import (
    ADMIN,
    ALICE,
    ALICE_DC,
    BOB,
    CAROL,
    OTHER,
    ROOM,
    points_env,
)

WALLET_A = "0x" + "aa" * 20
WALLET_B = "0x" + "bb" * 20


async def test_messages_replies_and_reactions_from_others(tmp_path: Path) -> None:
    async with points_env(tmp_path, weight_message=1, weight_reply=2, weight_reaction=3) as env:
        first = await env.say(ALICE, "hello everyone here")
        assert await env.points(ALICE) == 1
        await env.say(BOB, "hi alice, welcome!", reply_to=None)
        reply = await env.say(CAROL, "answering alice", reply_to=first)
        assert await env.points(CAROL) == 1
        assert await env.points(ALICE) == 1 + 2
        await env.react(BOB, first)
        await env.react(BOB, first, emoji="🎉")  # one reacting person counts once per message
        assert await env.points(ALICE) == 1 + 2 + 3
        await env.react(ALICE, reply)
        assert await env.points(CAROL) == 1 + 3
        entries = await points_store.entries_with_ref_prefix(env.store.db, "react:")
        assert {(e.platform, e.actor, e.kind) for e in entries} == {
            ("telegram", "discord:2", "reaction"),
            ("telegram", "telegram:1", "reaction"),
        }


async def test_own_reactions_self_replies_short_and_bot_messages_do_not_count(
    tmp_path: Path,
) -> None:
    async with points_env(tmp_path) as env:
        first = await env.say(ALICE, "my own message")
        await env.react(ALICE, first)
        await env.say(ALICE, "replying to myself", reply_to=first)
        assert await env.points(ALICE) == 2  # two messages, nothing else
        await env.say(BOB, "ok")  # shorter than min_message_length
        assert await env.points(BOB) == 0
        from dataclasses import replace

        await env.say(replace(BOB, is_bot=True), "a long bot message")
        assert await env.points(BOB) == 0
        await env.say(BOB, "in a room without points", chat=OTHER)
        assert await env.points(BOB) == 0


async def test_linked_accounts_are_one_person(tmp_path: Path) -> None:
    async with points_env(tmp_path, weight_reply=2, weight_reaction=3) as env:
        await env.link(ALICE, WALLET_A)
        await env.link(ALICE_DC, WALLET_A)
        first = await env.say(ALICE, "written on telegram")
        # Her Discord account reacting and replying to her Telegram message earns nothing.
        await env.react(ALICE_DC, first)
        await env.say(ALICE_DC, "replying from discord", reply_to=first)
        assert await env.points(ALICE) == 1
        assert await env.points(ALICE_DC) == 1
        # /points shows both accounts together.
        reply = await env.command(BOB, "/points @Alice")
        assert "Alice: 2 points this cycle, rank 1 of 1; 2 in all in lobby" in reply.text
        assert "0xAaAa" in reply.text or "0xaaaa" in reply.text.lower()


async def test_daily_cap_and_flood(tmp_path: Path) -> None:
    async with points_env(tmp_path, daily_cap=3, flood_messages=2, flood_seconds=10) as env:
        for i in range(3):
            await env.say(ALICE, f"message number {i}")
            env.clock.now += 20
        await env.say(ALICE, "over the cap today")
        assert await env.points(ALICE) == 3
        env.clock.now += 86400
        assert await env.points(ALICE) == 3
        # A burst: only the first flood_messages within flood_seconds count.
        for i in range(5):
            await env.say(ALICE, f"burst message {i}")
            env.clock.now += 1
        assert await env.points(ALICE) == 3 + 2
        env.clock.now += 30
        await env.say(ALICE, "after the burst")
        assert await env.points(ALICE) == 3 + 3


async def test_removed_reaction_and_deleted_message_take_points_back(tmp_path: Path) -> None:
    async with points_env(tmp_path, weight_reaction=3) as env:
        first = await env.say(ALICE, "react to this one")
        await env.react(BOB, first)
        assert await env.points(ALICE) == 4
        await env.react(BOB, first, added=False)
        assert await env.points(ALICE) == 1
        await env.react(BOB, first)  # adding it again earns nothing
        assert await env.points(ALICE) == 1
        from bridge.model import DeleteMessage, NativeId

        second = await env.say(ALICE, "to be deleted later")
        assert await env.points(ALICE) == 2
        await env.router.handle(DeleteMessage(env.chats[second], NativeId(second)))
        assert await env.points(ALICE) == 1
        reversals = await points_store.manual_entries(env.store.db, ROOM)
        assert [(e.kind, e.amount, e.actor) for e in reversals] == [
            ("reversal", -1, "system"),
            ("reversal", -3, "system"),
        ]


async def test_award_and_deduct_are_for_admins_and_audited(tmp_path: Path) -> None:
    async with points_env(tmp_path) as env:
        await env.say(BOB, "something helpful")
        refused = await env.command(ALICE, "/award @bob 10 great answer")
        assert refused.text == "/award is for bridge admins only."
        reply = await env.command(ADMIN, "/award @bob 10 great answer", admin=True)
        assert reply.text == "Ada awarded 10 points to Bob in lobby: great answer"
        reply = await env.command(ADMIN, "/deduct @bob 4 spam   link", admin=True)
        assert reply.text == "Ada deducted 4 points from Bob in lobby: spam link"
        assert await env.points(BOB) == 1 + 10 - 4
        audit = await points_store.manual_entries(env.store.db, ROOM)
        assert [(e.kind, e.amount, e.actor, e.reason) for e in audit] == [
            ("deduct", -4, "telegram:9", "spam link"),
            ("award", 10, "telegram:9", "great answer"),
        ]
        assert all(e.created_at == int(env.clock.now) for e in audit)
        bad = await env.command(ADMIN, "/award @bob 0 nothing", admin=True)
        assert "must be 1 to 10000" in bad.text
        bad = await env.command(ADMIN, "/award @nobody 5 who", admin=True)
        assert "No member called @nobody" in bad.text
        bad = await env.command(ADMIN, "/award @ada 5 me", admin=True)
        assert "You cannot award yourself points." in bad.text
        bad = await env.command(ADMIN, "/award @bob 5", admin=True)
        assert "Say who, how many points and why" in bad.text
        elsewhere = await env.command(ADMIN, "/award @bob 5 x", admin=True, chat=OTHER)
        assert "in a room that earns points" in elsewhere.text


async def test_unlinked_members_accrue_and_commands_answer(tmp_path: Path) -> None:
    async with points_env(tmp_path) as env:
        await env.say(CAROL, "carol writes a lot")
        await env.say(BOB, "bob writes too")
        await env.say(BOB, "bob writes again")
        mine = await env.command(CAROL, "/points")
        assert mine.text == (
            "Carol: 1 points this cycle, rank 2 of 2; 1 in all in lobby."
            " No wallet linked: the points wait for one (link with /link)."
        )
        board = await env.command(CAROL, "/leaderboard")
        assert board.text.splitlines()[:3] == [
            "Leaderboard of lobby, cycle 1:",
            "1. Bob — 2 (2 in all)",
            "2. Carol — 1 (1 in all)",
        ]
        elsewhere = await env.command(CAROL, "/points", chat=OTHER)
        assert "This chat earns no points" in elsewhere.text
        shown = await env.command(CAROL, "/points show")
        assert "now shown" in shown.text
        author = await env.service.shown_name(CAROL)
        assert author.display_name == "Carol · 1 pts"
        # The decorated name is not what the ledger remembers.
        await env.say(author, "with my points shown")
        assert (await points_store.account_names(env.store.db))[("telegram", "3")] == "Carol"
        await env.command(CAROL, "/points hide")
        assert (await env.service.shown_name(CAROL)).display_name == "Carol"
