"""One sender's flood through the whole bridge: refused past the limit, told once, and the room
keeps moving (other people's messages are relayed; nothing under the limit is lost)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.harness import running_bridge

BURST = 5


def _limit(raw: dict[str, Any]) -> None:
    # One a minute after the burst: nothing more refills while the test runs.
    raw["bridge"].update(flood_burst=BURST, flood_per_minute=1.0)


async def test_a_flood_is_refused_past_the_limit_and_the_sender_told_once(tmp_path: Path) -> None:
    async with running_bridge(tmp_path, configure=_limit) as h:
        for i in range(40):
            h.tg.user_sends(h.tg_group, h.alice, f"flood {i:02d}")
        notice = await h.tg_copy("sending messages faster than this room relays them")
        assert notice.content.startswith("Alice, "), notice.content
        # Someone else in the room is not held up.
        h.dc.user_sends(h.channel.id, h.bob, "bob is still heard")
        await h.tg_copy("bob is still heard")
        h.tg.user_sends(h.tg_group, h.tg_admin, "ada too")
        await h.dc_copy("ada too")
        await h.settle()

        relayed = sorted(m["content"] for m in h.dc_messages("flood "))
        assert relayed == [f"flood {i:02d}" for i in range(BURST)]
        assert len(h.waku_copies("flood ")) == BURST
        assert len(h.tg_copies("sending messages faster")) == 1
        # The notice is not relayed to the other chats.
        assert h.dc_messages("sending messages faster") == []


async def test_the_limit_can_be_turned_off(tmp_path: Path) -> None:
    def off(raw: dict[str, Any]) -> None:
        raw["bridge"].update(flood_burst=0)

    async with running_bridge(tmp_path, configure=off) as h:
        for i in range(20):
            h.tg.user_sends(h.tg_group, h.alice, f"many {i:02d}")
        await h.dc_copy("many 19")
        await h.settle()
        assert len(h.dc_messages("many ")) == 20
        assert h.tg_copies("sending messages faster") == []
