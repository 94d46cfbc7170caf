"""What users notice (issue 12 and /link in a private chat), through the real bridge: the real
python-telegram-bot and discord.py against the protocol-level stand-ins."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.harness import running_bridge


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
