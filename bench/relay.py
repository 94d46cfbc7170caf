"""Benchmark of the relay core: router + outbox + SQLite, with in-process platform stand-ins.

Prints throughput (messages/s, each message fanned out to two targets), the latency the core
adds (from ``Router.handle`` being called to the target adapter's ``send`` being called) at
a fixed offered rate, the latency of ``handle`` itself (until the message is durable), and
the process's peak RSS with 1,000 rooms (3,000 chats) active.

    .venv/bin/python bench/relay.py [--rooms 1000] [--messages 5000] [--rate 500]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import resource
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from bridge.model import (
    Adapter,
    Author,
    Capabilities,
    ChatRef,
    DiscordChannelId,
    Feature,
    InboundSink,
    NativeId,
    NewMessage,
    OutboundMessage,
    Platform,
    RichText,
    TelegramChatId,
    UserId,
    WakuChatId,
)
from bridge.outbox import Outbox
from bridge.router import Room, Router
from bridge.store import Store

AUTHOR = Author("telegram", UserId("1"), "Bench", "bench")
WHEN = datetime(2024, 5, 1, tzinfo=UTC)


class _Arrivals:
    """When each message reached each target; wakes a waiter at an expected total."""

    def __init__(self) -> None:
        self.at: dict[str, list[float]] = {}
        self.total = 0
        self._goal = 0
        self._reached = asyncio.Event()

    def add(self, text: str) -> None:
        self.at.setdefault(text, []).append(time.perf_counter())
        self.total += 1
        if self.total >= self._goal:
            self._reached.set()

    async def until(self, total: int) -> None:
        self._goal = total
        if self.total < total:
            self._reached.clear()
            await self._reached.wait()


class _BenchAdapter(Adapter):
    capabilities: ClassVar[Capabilities] = Capabilities(Feature.EDIT | Feature.REPLY, 4096)

    def __init__(self, arrived: _Arrivals) -> None:
        self._arrived = arrived
        self._ids = itertools.count()

    async def start(self, sink: InboundSink) -> None:
        return None

    async def stop(self) -> None:
        return None

    def is_connected(self) -> bool:
        return True

    async def send(self, delivery: OutboundMessage) -> NativeId:
        self._arrived.add(delivery.text.text)
        return NativeId(f"{self.platform}-{next(self._ids)}")


class _Discord(_BenchAdapter):
    platform: ClassVar[Platform] = "discord"


class _Waku(_BenchAdapter):
    platform: ClassVar[Platform] = "waku"


def _rooms(count: int) -> list[Room]:
    return [
        Room(
            f"room{i}",
            (
                ChatRef.telegram(TelegramChatId(-1000 - i)),
                ChatRef.discord(DiscordChannelId(1000 + i)),
                ChatRef.waku(WakuChatId(f"room{i}")),
            ),
        )
        for i in range(count)
    ]


def _message(room: Room, n: int) -> NewMessage:
    return NewMessage(room.members[0], NativeId(str(n)), AUTHOR, RichText(f"m{n}"), WHEN)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run(rooms_n: int, messages_n: int, rate: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "bench.db")
        arrived = _Arrivals()
        outbox = Outbox(store, [_Discord(arrived), _Waku(arrived)], pacing={})
        rooms = _rooms(rooms_n)
        router = Router(store, rooms, notify=outbox.notify)
        await outbox.start()
        counter = itertools.count()

        # Warm-up: one message per room, so every room's targets have a worker (RSS below).
        warm = [_message(room, next(counter)) for room in rooms]
        await asyncio.gather(*(router.handle(m) for m in warm))
        await arrived.until(2 * len(warm))

        # Throughput: many adapters' events at once, spread over the rooms.
        burst = [_message(rooms[i % rooms_n], next(counter)) for i in range(messages_n)]
        started = time.perf_counter()
        sem = asyncio.Semaphore(64)

        async def feed(m: NewMessage) -> None:
            async with sem:
                await router.handle(m)

        await asyncio.gather(*(feed(m) for m in burst))
        await arrived.until(2 * (len(warm) + len(burst)))
        elapsed = time.perf_counter() - started
        print(
            f"throughput: {messages_n / elapsed:,.0f} messages/s "
            f"({2 * messages_n / elapsed:,.0f} deliveries/s), {messages_n} messages, "
            f"{rooms_n} rooms"
        )

        # Latency at a fixed offered rate.
        steady = [_message(rooms[i % rooms_n], next(counter)) for i in range(int(rate * 5))]
        handled: dict[str, tuple[float, float]] = {}

        async def one(m: NewMessage) -> None:
            t0 = time.perf_counter()
            await router.handle(m)
            handled[m.text.text] = (t0, time.perf_counter())

        tasks = []
        t_start = time.perf_counter()
        for i, m in enumerate(steady):
            delay = t_start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(m)))
        await asyncio.gather(*tasks)
        await arrived.until(2 * (len(warm) + len(burst) + len(steady)))
        per_delivery = [
            (t - handled[m.text.text][0]) * 1000 for m in steady for t in arrived.at[m.text.text]
        ]
        durable = [(end - start) * 1000 for start, end in handled.values()]
        print(
            f"latency at {rate:.0f} msg/s offered (handle -> adapter.send, ms): "
            f"p50 {statistics.median(per_delivery):.2f}  p99 {_pct(per_delivery, 0.99):.2f}  "
            f"max {max(per_delivery):.2f}"
        )
        print(
            f"handle() until durable (ms): p50 {statistics.median(durable):.2f}  "
            f"p99 {_pct(durable, 0.99):.2f}"
        )
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: {rss_mb:.0f} MiB with {rooms_n} rooms, {2 * rooms_n} outbox workers")

        await outbox.stop()
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=500.0)
    args = parser.parse_args()
    asyncio.run(run(args.rooms, args.messages, args.rate))


if __name__ == "__main__":
    main()
