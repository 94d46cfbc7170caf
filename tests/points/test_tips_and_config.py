"""Tips received count (once, from others, in points rooms only); the [points] config checks;
the automatic cycle close."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.registry import PLATFORMS
from bridge.config import ConfigError, parse_config
from bridge.points.closing import CycleManager
from bridge.store import points as points_store
from bridge.store import tips as tips_store
from bridge.store.tips import StoredTip, TipIntent
from tests.points.support import ALICE, BOB, DC, OTHER, TG, Env, points_env

ALICE_WALLET = "0x" + "a1" * 20
BOB_WALLET = "0x" + "b2" * 20
TIPJAR = "0x" + "77" * 20


async def _tip(
    env: Env, n: int, *, to: str, sender: str, chat: tuple[str, str], intent: TipIntent | None
) -> None:
    async with env.store.transaction() as db:
        if intent is not None:
            await tips_store.add_intent(db, intent)
        await tips_store.add_tip(
            db,
            StoredTip(
                tx_hash=f"0x{n:064x}",
                log_index=0,
                tipjar=TIPJAR,
                block_number=n,
                block_hash=f"0x{n:064x}",
                sender=sender,
                recipient=to,
                token=None,
                amount=10**16,
                symbol="ETH",
                decimals=18,
                ref=f"0x{n:064x}",
                tipper_name="x",
                recipient_name="y",
                intent_id=None if intent is None else intent.id,
                chat_platform=chat[0],
                chat_id=chat[1],
                seen_at=0,
            ),
        )


def _intent(n: int, chat: tuple[str, str]) -> TipIntent:
    return TipIntent(
        id=f"0x{n:064x}",
        tipper_platform="discord",
        tipper_user_id=str(BOB.user_id),
        tipper_name="Bob",
        recipient_platform="telegram",
        recipient_user_id=str(ALICE.user_id),
        recipient_name="Alice",
        recipient_address=ALICE_WALLET,
        token=None,
        symbol="ETH",
        decimals=18,
        amount=10**16,
        memo="",
        chat_platform=chat[0],
        chat_id=chat[1],
        chain_id=31337,
        tipjar=TIPJAR,
        created_at=0,
        expires_at=10,
    )


async def test_tips_received_count_once_from_others(tmp_path: Path) -> None:
    async with points_env(tmp_path, weight_tip=5) as env:
        await env.link(ALICE, ALICE_WALLET)
        await env.link(BOB, BOB_WALLET)
        tg = (TG.platform, str(TG.chat_id))
        await _tip(env, 1, to=ALICE_WALLET, sender=BOB_WALLET, chat=tg, intent=_intent(1, tg))
        # A tip to a linked wallet without an intent, announced in the room's Discord channel.
        await _tip(
            env,
            2,
            to=ALICE_WALLET,
            sender=BOB_WALLET,
            chat=("discord", str(DC.chat_id)),
            intent=None,
        )
        # Tipping oneself, and a tip in a room without points, earn nothing.
        await _tip(env, 3, to=ALICE_WALLET, sender=ALICE_WALLET, chat=tg, intent=None)
        other = ("telegram", str(OTHER.chat_id))
        await _tip(env, 4, to=ALICE_WALLET, sender=BOB_WALLET, chat=other, intent=None)
        assert await env.service.ingest_tips() == 10
        assert await env.service.ingest_tips() == 0
        assert await env.points(ALICE) == 10
        entries = await points_store.entries_with_ref_prefix(env.store.db, "tip:")
        assert {e.kind for e in entries} == {"tip"}
        assert all(e.actor == "chain:" + BOB_WALLET for e in entries)


def test_points_rooms_must_exist() -> None:
    with pytest.raises(ConfigError, match=r"points\.rooms\[0\].*no room named .mian."):
        parse_config(
            {"rooms": [{"name": "main", "telegram_chats": [-1]}], "points": {"rooms": ["mian"]}},
            env={},
            base_dir=Path("."),
            platforms=PLATFORMS,
        )
    settings = parse_config(
        {
            "rooms": [{"name": "main", "telegram_chats": [-1]}],
            "points": {"rooms": ["main"], "weight_reply": 4, "cycle_days": 7},
        },
        env={},
        base_dir=Path("."),
        platforms=PLATFORMS,
    )
    assert settings.points.enabled and settings.points.weight_reply == 4


async def test_a_cycle_closes_by_itself_after_cycle_days(tmp_path: Path) -> None:
    async with points_env(tmp_path, cycle_days=7, token="0x" + "11" * 20) as env:
        said: list[str] = []

        async def announce(text: str) -> None:
            said.append(text)

        manager = CycleManager(
            env.service, env.service.config, tmp_path / "c", announce=announce, clock=env.clock
        )
        await env.link(ALICE, ALICE_WALLET)
        await env.say(ALICE, "alice writes")
        await manager.step()
        assert await points_store.cycles(env.store.db) == []
        env.clock.now += 7 * 86400 + 1
        await manager.step()
        [cycle] = await points_store.cycles(env.store.db)
        assert cycle.closed_by == "system"
        assert said and said[0].startswith("Cycle 1 closed: 1 wallets")
