"""Benchmark of the relay core: router + outbox + SQLite, with in-process platform stand-ins.

Prints throughput (messages/s, each message fanned out to two targets), the latency the core
adds (from ``Router.handle`` being called to the target adapter's ``send`` being called) at
a fixed offered rate, the latency of ``handle`` itself (until the message is durable), and
the process's peak RSS with 1,000 rooms (3,000 chats) active.

    .venv/bin/python bench/relay.py [--rooms 1000] [--messages 5000] [--rate 500]
    .venv/bin/python bench/relay.py --fakes [--rooms 1000] [--messages 2000] [--rate 50]

Like ``parley run``, the process freezes its start-up heap out of the cyclic GC
(``gc.freeze()``) once warm, and the store checkpoints its WAL from a background connection;
``--gc default`` and ``--checkpoint auto`` measure without either, for comparison. The tail
report names the stalls seen (GC pauses) so that a bad p99 can be told from a noisy machine.

``--fakes`` runs the whole bridge instead: FakeTelegram + FakeDiscord on loopback, the
embedded Waku node, and a real ``Bridge`` wired by ``wire_features`` (tests/e2e/harness.py),
outbox pacing off. Messages are injected as Telegram users' posts; a copy counts as arrived
when FakeDiscord has executed the webhook and when the embedded node has the Waku message.
That is end to end: it includes PTB's getUpdates long poll, discord.py's webhook POST and the
fakes' own work, all in this one process and on the same cores as the bridge.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import os
import resource
import statistics
import sys
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


class _GcPauses:
    """Cyclic-GC pauses of this process (``gc.callbacks``), per generation."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._t0 = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t0 = time.perf_counter()
        else:
            self.pauses.append((info["generation"], (time.perf_counter() - self._t0) * 1000))

    def reset(self) -> None:
        self.pauses.clear()

    def report(self) -> str:
        parts = []
        for gen in (0, 1, 2):
            ms = [p for g, p in self.pauses if g == gen]
            if ms:
                parts.append(f"gen{gen} {len(ms)}x max {max(ms):.1f} ms")
        return "GC pauses during the latency run: " + (", ".join(parts) or "none")


def _freeze_heap(mode: str) -> None:
    """What ``parley run`` should do once started: keep the start-up heap out of the GC."""
    if mode == "freeze":
        gc.collect()
        gc.freeze()


def _rss_mb() -> float:
    """Current resident set size (ru_maxrss is the peak; this is now)."""
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def run(rooms_n: int, messages_n: int, rate: float, gc_mode: str, checkpoint: str) -> None:
    gcp = _GcPauses()
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(
            Path(tmp) / "bench.db", checkpoint_interval=None if checkpoint == "auto" else 0.5
        )
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
        _freeze_heap(gc_mode)

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
        gcp.reset()
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
        print(gcp.report())
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS: {rss_mb:.0f} MiB with {rooms_n} rooms, {2 * rooms_n} outbox workers")

        await outbox.stop()
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--fakes", action="store_true", help="the whole bridge against the fakes")
    parser.add_argument("--rooms", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=None, help="burst size (5000 / 2000)")
    parser.add_argument("--rate", type=float, default=None, help="offered rate (500 / 50)")
    parser.add_argument("--gc", choices=["freeze", "default"], default="freeze")
    parser.add_argument("--checkpoint", choices=["background", "auto"], default="background")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0] or ".").resolve() == here:
        # Run as a script: bench/ is first on the path and its crypto.py would shadow the
        # crypto package that the bridge imports.
        sys.path[0] = str(here.parent)
    if args.fakes:
        asyncio.run(
            run_fakes(
                args.rooms,
                args.messages or 2000,
                args.rate or 50.0,
                gc_mode=args.gc,
                checkpoint=args.checkpoint,
            )
        )
    else:
        asyncio.run(
            run(args.rooms, args.messages or 5000, args.rate or 500.0, args.gc, args.checkpoint)
        )


# --- the whole bridge against the fakes (--fakes) ---------------------------------------------


async def run_fakes(
    rooms_n: int, messages_n: int, rate: float, *, gc_mode: str, checkpoint: str
) -> None:
    # Test-only parts (the fakes, the e2e harness) are imported here, not by the core bench.
    import re

    from bridge.config import parse_config
    from bridge.status import chat_key, chat_topic, parse_status_payload
    from bridge.waku.message import WakuMessage
    from crypto.keys import generate_private_key
    from crypto.payload import decrypt_symmetric
    from tests.e2e.harness import Harness, free_port, test_tuning
    from tests.fakes.discord import FakeDiscord
    from tests.fakes.telegram import FakeTelegram

    if checkpoint != "background":
        print("note: --checkpoint applies to the core bench; the bridge opens its store itself")
    token = re.compile(r"bench-\d+")
    t_sent: dict[str, float] = {}
    t_dc: dict[str, float] = {}
    waku_raw: list[tuple[float, str, WakuMessage]] = []

    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        (tmp / "data").mkdir()
        rss_start = _rss_mb()
        async with FakeTelegram() as tg, FakeDiscord() as dc:
            tg_bot = tg.add_bot("parley_bot")
            alice = tg.add_user("Alice", username="alice_tg")
            tg_admin = tg.add_user("Ada", username="ada_admin")
            guild = dc.add_guild("Parley")
            bob = dc.add_member(guild, "bob")
            dc_admin = dc.add_member(guild, "dora")
            groups, channels, webhooks, rooms_cfg = [], [], [], []
            for i in range(rooms_n):
                group = tg.add_chat("supergroup", f"Room {i}", members=[alice], bots=[tg_bot])
                channel = dc.add_text_channel(guild, f"room-{i}")
                webhook = dc.add_webhook(channel.id)
                groups.append(group)
                channels.append(channel)
                webhooks.append(webhook)
                rooms_cfg.append(
                    {
                        "name": f"room{i}",
                        "telegram_chats": [group.id],
                        "discord_channels": [channel.id],
                        "waku_chat": f"bench-room-{i}",
                        "webhooks": [
                            {"channel": channel.id, "id": webhook.id, "token": webhook.token}
                        ],
                    }
                )
            web_port = free_port()
            raw = {
                "bridge": {"name": "parley", "data_dir": str(tmp / "data"), "log_level": "WARNING"},
                "waku": {"rest_host": "127.0.0.1", "rest_port": free_port()},
                "web": {
                    "host": "127.0.0.1",
                    "port": web_port,
                    "public_url": f"http://127.0.0.1:{web_port}",
                },
                "telegram": {
                    "token": tg_bot.token,
                    "api_base_url": tg.base_url,
                    "file_base_url": tg.base_file_url,
                    "admins": [tg_admin.id],
                },
                "discord": {
                    "token": dc.token,
                    "api_base_url": dc.api_base,
                    "gateway_url": dc.gateway_url,
                    "admins": [dc_admin.id],
                },
                "rooms": rooms_cfg,
            }
            settings = parse_config(raw, base_dir=tmp, env={})
            h = Harness(
                tmp_path=tmp,
                tg=tg,
                tg_bot=tg_bot,
                tg_group=groups[0],
                alice=alice,
                tg_admin=tg_admin,
                dc=dc,
                guild=guild,
                channel=channels[0],
                webhook=webhooks[0],
                bob=bob,
                dc_admin=dc_admin,
                settings=settings,
                identity_key=generate_private_key(),
                tuning=test_tuning(),
                waku_chat="bench-room-0",
                room="room0",
            )
            rss_fakes = _rss_mb()
            await h.start_bridge()
            keys = {
                chat_topic(f"bench-room-{i}"): chat_key(f"bench-room-{i}") for i in range(rooms_n)
            }
            h.bridge.node.add_listener(  # type: ignore[attr-defined]
                lambda topic, m: waku_raw.append((time.perf_counter(), topic, m))
            )
            seen_dc = 0
            stop = False

            def scan_dc() -> bool:
                nonlocal seen_dc
                now = time.perf_counter()
                new = dc.webhook_executions[seen_dc:]
                seen_dc += len(new)
                for execution in new:
                    found = token.search(execution.content or "")
                    if found is not None:
                        t_dc.setdefault(found.group(), now)
                return bool(new) or stop

            async def track_dc() -> None:
                while not stop:
                    with contextlib.suppress(TimeoutError):
                        await dc.wait_for(scan_dc, 1.0)

            tracker = asyncio.create_task(track_dc())
            counter = itertools.count()

            def inject(i: int) -> str:
                text = f"bench-{next(counter):06d}"
                t_sent[text] = time.perf_counter()
                tg.user_sends(groups[i % rooms_n], alice, text)
                return text

            async def arrived(texts: list[str]) -> None:
                # Discord by the tracker; Waku by the node listener (decoded afterwards).
                async with asyncio.timeout(300):
                    while not (all(t in t_dc for t in texts) and len(waku_raw) >= len(t_sent)):  # noqa: ASYNC110
                        await asyncio.sleep(0.01)

            # Warm-up: one message in every room (every target gets its worker).
            await arrived([inject(i) for i in range(rooms_n)])
            await h.settle()
            _freeze_heap(gc_mode)
            rss_warm = _rss_mb()

            started = time.perf_counter()
            burst = [inject(i) for i in range(messages_n)]
            await arrived(burst)
            elapsed = time.perf_counter() - started
            print(
                f"[fakes] throughput: {messages_n / elapsed:,.0f} messages/s "
                f"({2 * messages_n / elapsed:,.0f} deliveries/s: Telegram -> Discord + Waku), "
                f"{messages_n} messages over {rooms_n} rooms"
            )

            steady: list[str] = []
            gcp = _GcPauses()
            t_start = time.perf_counter()
            for i in range(int(rate * 5)):
                delay = t_start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                steady.append(inject(i))
            await arrived(steady)
            await h.settle()
            stop = True
            await tracker
            rss_end = _rss_mb()

            t_waku: dict[str, float] = {}
            for at, _topic, message in waku_raw:
                key = keys.get(message.content_topic)
                if key is None:
                    continue
                with contextlib.suppress(Exception):
                    plain = decrypt_symmetric(message.payload, key).payload
                    envelope = parse_status_payload(plain, None)
                    found = token.search(str(envelope.content))
                    if found is not None:
                        t_waku.setdefault(found.group(), at)
            missing = [t for t in steady if t not in t_waku]
            lat_dc = [(t_dc[t] - t_sent[t]) * 1000 for t in steady]
            lat_waku = [(t_waku[t] - t_sent[t]) * 1000 for t in steady if t in t_waku]
            both = lat_dc + lat_waku
            print(
                f"[fakes] end-to-end latency at {rate:.0f} msg/s offered (Telegram user post -> "
                f"copy on the fake / on the node, ms): p50 {statistics.median(both):.2f}  "
                f"p99 {_pct(both, 0.99):.2f}  max {max(both):.2f}"
            )
            print(
                f"[fakes]   Discord p50 {statistics.median(lat_dc):.2f} "
                f"p99 {_pct(lat_dc, 0.99):.2f}"
                f"; Waku p50 {statistics.median(lat_waku):.2f} p99 {_pct(lat_waku, 0.99):.2f}"
                + (f" ({len(missing)} Waku copies not decoded)" if missing else "")
            )
            print("[fakes] " + gcp.report())
            print(
                f"[fakes] RSS: {rss_end:.0f} MiB now, peak {_peak_mb():.0f} MiB, with {rooms_n} "
                f"rooms ({3 * rooms_n} chats); interpreter + imports + fakes before the bridge "
                f"started: {rss_fakes:.0f} MiB (process start {rss_start:.0f}); after warm-up "
                f"{rss_warm:.0f} MiB"
            )
            await h.stop_bridge()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
