"""Idle targets cost no task: thousands of quiet chats must not keep coroutines and waiters
alive (memory, and the length of every full garbage collection)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bots.discord.ids import DiscordChannelId, discord_channel
from bots.telegram.ids import TelegramChatId, telegram_chat
from bridge.model import ChatRef, WakuChatId
from bridge.router import Room
from tests.fakes.relay_adapter import Relay, new_message


def _room(i: int) -> Room:
    return Room(
        f"r{i}",
        (
            telegram_chat(TelegramChatId(-100 - i)),
            discord_channel(DiscordChannelId(1000 + i)),
            ChatRef.waku(WakuChatId(f"w{i}")),
        ),
    )


async def test_idle_targets_keep_no_task_and_wake_again(tmp_path: Path) -> None:
    rooms = [_room(i) for i in range(50)]
    relay = await Relay(tmp_path / "parley.db", rooms).open()
    try:
        baseline = len(asyncio.all_tasks())
        for round_ in range(2):  # the second round finds every worker idle, and wakes it
            for i, room in enumerate(rooms):
                await relay.handle(new_message(room.members[0], f"{round_}-{i}", f"m{round_}"))
            await relay.settle()
            assert len(asyncio.all_tasks()) == baseline
            assert len(relay.dc.calls) == len(relay.wk.calls) == 50 * (round_ + 1)
    finally:
        await relay.close()
