"""Benchmark of the relay core: router + outbox + SQLite, with in-process platform stand-ins.

Prints throughput (messages/s, each message fanned out to two targets), the latency the core
adds (from ``Router.handle`` being called to the target adapter's ``send`` being called) at
a fixed offered rate, the latency of ``handle`` itself (until the message is durable), and
the process's peak RSS with 1,000 rooms (3,000 chats) active.

    .venv/bin/python bench/relay.py [--rooms 1000] [--messages 5000] [--rate 500]
    .venv/bin/python bench/relay.py --fakes [--rooms 1000] [--messages 2000] [--rate 50]

Like ``parley run``, the process freezes its start-up heap out of the cyclic GC
(``gc.freeze()``) once warm and spaces out full collections (``bridge.gc_tuning``), and the
store checkpoints its WAL from a background connection; ``--gc default`` and ``--checkpoint
auto`` measure without either, for comparison. The tail
report names the stalls seen (GC pauses) so that a bad p99 can be told from a noisy machine.

Both modes also print the store's round trips to its database thread (``Store.count``) per
inbound message and per delivery, with commits, for the burst and for the latency run, and
the statements too for an untimed burst at the end (tracing them would slow the timed ones):
unlike the timings, these do not depend on how busy the machine is. And the
bridge process's CPU time (all its threads) per message, for the burst and the latency run,
plus (``--fakes``) what it spends idle, its event loop's share, the fakes' CPU and the
hypervisor's steal: much less sensitive to other jobs on the machine than throughput, so the
figure to compare changes by (interleaved runs, old and new).

``--fakes`` runs the whole bridge instead: a real ``Bridge`` wired by ``wire_features`` with
the embedded Waku node in this process (production timings, outbox pacing off), and
FakeTelegram + FakeDiscord in a separate process (``bench/fakes_server.py``), so that the
fakes' work does not share the bridge's core. Messages are injected as Telegram users' posts;
latency runs from the getUpdates answer that hands a message to the bridge (also shown: from
the user's post) to the copy's arrival at the Discord fake (timed in the fakes process) and at
the Waku node (timed here; both clocks are the system's CLOCK_MONOTONIC). RSS is reported for
the bridge process and, separately, the fakes'.
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

from bots.discord.ids import DiscordChannelId, discord_channel
from bots.telegram.ids import TelegramChatId, telegram_chat

_ROOT = Path(__file__).resolve().parent.parent
# Run as a script, bench/ leads sys.path and its crypto.py would shadow the crypto package
# that the bridge imports (already at import time, below).
if sys.path and Path(sys.path[0] or ".").resolve() == _ROOT / "bench":
    sys.path[0] = str(_ROOT)

from bridge.gc_tuning import settle_heap  # noqa: E402
from bridge.model import (  # noqa: E402
    Adapter,
    Author,
    Capabilities,
    ChatRef,
    Feature,
    InboundSink,
    NativeId,
    NewMessage,
    OutboundMessage,
    Platform,
    RichText,
    UserId,
    WakuChatId,
)
from bridge.outbox import Outbox  # noqa: E402
from bridge.router import Room, Router  # noqa: E402
from bridge.store import Store, StoreCounters  # noqa: E402

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
                telegram_chat(TelegramChatId(-1000 - i)),
                discord_channel(DiscordChannelId(1000 + i)),
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


def _store_report(
    phase: str, used: StoreCounters, messages: int, deliveries: int, *, traced: bool = False
) -> str:
    """The store's work per inbound message and per delivery (deterministic, unlike time).

    Statements are traced (``traced``) only in the untimed counted run: tracing calls into
    Python on the database thread for every statement and trigger, which slowed the timed
    phases it was measuring."""
    statements = f"statements {used.statements / messages:.1f} per message; " if traced else ""
    return (
        f"store round trips during the {phase}: {used.round_trips / messages:.1f} per message, "
        f"{used.round_trips / deliveries:.2f} per delivery; {statements}"
        f"{used.transactions / messages:.2f} commits per message"
    )


COUNTED_MESSAGES = 200
"""The untimed run, after the others, whose statements are traced (``_store_report``)."""


def _cpu_report(phase: str, cpu_s: float, messages: int) -> str:
    """CPU time of this whole process (all threads) per message: what a busy machine does not
    change much, unlike the wall-clock figures, so that A/B comparisons can be trusted."""
    return (
        f"bridge process CPU during the {phase}: {cpu_s * 1000 / messages:.2f} ms per message "
        f"({cpu_s:.2f} s for {messages} messages)"
    )


class _Steal:
    """The share of the machine's CPU time the hypervisor gave to other guests (the ``steal``
    column of /proc/stat) between ``__init__`` and ``report``: a virtual machine's slow runs
    are often this, not the code."""

    def __init__(self) -> None:
        self._start = self._read()

    @staticmethod
    def _read() -> tuple[int, int] | None:
        try:
            with open("/proc/stat") as f:
                fields = [int(x) for x in f.readline().split()[1:9]]
        except (OSError, ValueError):
            return None
        return fields[7], sum(fields)

    def report(self) -> str:
        end = self._read()
        if self._start is None or end is None or end[1] == self._start[1]:
            return "unknown"
        share = (end[0] - self._start[0]) / (end[1] - self._start[1])
        return f"{share * 100:.1f}%"


def _freeze_heap(mode: str) -> None:
    """What ``parley run`` does once started (bridge.gc_tuning): keep the start-up heap out of
    the GC, and full collections rare."""
    if mode == "freeze":
        settle_heap()


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
        counters = await store.count(statements=False)
        await outbox.start()
        counter = itertools.count()

        # Warm-up: one message per room, so every room's targets have a worker (RSS below).
        warm = [_message(room, next(counter)) for room in rooms]
        await asyncio.gather(*(router.handle(m) for m in warm))
        await arrived.until(2 * len(warm))
        _freeze_heap(gc_mode)

        # Throughput: many adapters' events at once, spread over the rooms.
        burst = [_message(rooms[i % rooms_n], next(counter)) for i in range(messages_n)]
        at_burst = counters.copy()
        cpu_burst = time.process_time()
        started = time.perf_counter()
        sem = asyncio.Semaphore(64)

        async def feed(m: NewMessage) -> None:
            async with sem:
                await router.handle(m)

        await asyncio.gather(*(feed(m) for m in burst))
        await arrived.until(2 * (len(warm) + len(burst)))
        elapsed = time.perf_counter() - started
        cpu_burst = time.process_time() - cpu_burst
        print(
            f"throughput: {messages_n / elapsed:,.0f} messages/s "
            f"({2 * messages_n / elapsed:,.0f} deliveries/s), {messages_n} messages, "
            f"{rooms_n} rooms"
        )
        print(_cpu_report("burst", cpu_burst, messages_n))
        print(_store_report("burst", counters - at_burst, messages_n, 2 * messages_n))

        # Latency at a fixed offered rate.
        steady = [_message(rooms[i % rooms_n], next(counter)) for i in range(int(rate * 5))]
        handled: dict[str, tuple[float, float]] = {}

        async def one(m: NewMessage) -> None:
            t0 = time.perf_counter()
            await router.handle(m)
            handled[m.text.text] = (t0, time.perf_counter())

        tasks = []
        at_steady = counters.copy()
        gcp.reset()
        t_start = time.perf_counter()
        for i, m in enumerate(steady):
            delay = t_start + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(m)))
        await asyncio.gather(*tasks)
        await arrived.until(2 * (len(warm) + len(burst) + len(steady)))
        used = counters - at_steady
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
        print(_store_report("latency run", used, len(steady), 2 * len(steady)))
        print(gcp.report())
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        # Untimed: the same kind of burst with every statement traced.
        await store.count(statements=True)
        at_counted = counters.copy()
        counted = [_message(rooms[i % rooms_n], next(counter)) for i in range(COUNTED_MESSAGES)]
        await asyncio.gather(*(feed(m) for m in counted))
        done = len(warm) + len(burst) + len(steady) + len(counted)
        await arrived.until(2 * done)
        print(
            _store_report(
                "counted burst", counters - at_counted, len(counted), 2 * len(counted), traced=True
            )
        )
        print(f"peak RSS: {rss_mb:.0f} MiB with {rooms_n} rooms, {2 * rooms_n} outbox targets")

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
    parser.add_argument(
        "--idle", type=float, default=3.0, help="seconds of the idle CPU measure (--fakes)"
    )
    args = parser.parse_args()
    if args.fakes:
        os.environ.setdefault("PTB_TIMEDELTA", "1")  # as the e2e tests: no deprecation noise
        asyncio.run(
            run_fakes(
                args.rooms,
                args.messages or 2000,
                args.rate or 50.0,
                gc_mode=args.gc,
                checkpoint=args.checkpoint,
                idle_s=args.idle,
            )
        )
    else:
        asyncio.run(
            run(args.rooms, args.messages or 5000, args.rate or 500.0, args.gc, args.checkpoint)
        )


# --- the whole bridge against the fakes (--fakes) ---------------------------------------------


async def run_fakes(
    rooms_n: int,
    messages_n: int,
    rate: float,
    *,
    gc_mode: str,
    checkpoint: str,
    idle_s: float = 3.0,
) -> None:
    # The fakes run in a process of their own (bench/fakes_server.py); this process is the
    # bridge alone, with the embedded Waku node, like ``parley run``.
    import json
    import re

    import aiohttp

    from bots.registry import PLATFORMS
    from bridge.app import Bridge, wire_features
    from bridge.config import parse_config
    from bridge.relay import RelayTuning
    from bridge.status import chat_key, chat_topic, parse_status_payload
    from bridge.waku.message import WakuMessage
    from crypto.keys import generate_private_key
    from crypto.payload import decrypt_symmetric

    if checkpoint != "background":
        print("note: --checkpoint applies to the core bench; the bridge opens its store itself")
    token = re.compile(r"bench-\d+")
    waku_raw: list[tuple[float, str, WakuMessage]] = []
    rss_start = _rss_mb()
    fakes = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.fakes_server",
        "--rooms",
        str(rooms_n),
        cwd=_ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        limit=2**24,  # the world description is one long JSON line
    )
    assert fakes.stdin is not None and fakes.stdout is not None
    try:
        world = json.loads(await fakes.stdout.readline())
        control = str(world["control_url"])
        with tempfile.TemporaryDirectory() as tmp_s:
            tmp = Path(tmp_s)
            (tmp / "data").mkdir()
            web_port = _free_port()
            raw = {
                # The bench measures relaying: its one-sender bursts are not a flood to refuse.
                "bridge": {
                    "name": "parley",
                    "data_dir": str(tmp / "data"),
                    "log_level": "WARNING",
                    "flood_burst": 0,
                },
                "waku": {"rest_host": "127.0.0.1", "rest_port": _free_port()},
                "web": {
                    "host": "127.0.0.1",
                    "port": web_port,
                    "public_url": f"http://127.0.0.1:{web_port}",
                },
                "telegram": {
                    "token": world["telegram"]["token"],
                    "api_base_url": world["telegram"]["api_base_url"],
                    "file_base_url": world["telegram"]["file_base_url"],
                    "admins": [world["telegram"]["admin"]],
                },
                "discord": {
                    "token": world["discord"]["token"],
                    "api_base_url": world["discord"]["api_base_url"],
                    "gateway_url": world["discord"]["gateway_url"],
                    "admins": [world["discord"]["admin"]],
                },
                "rooms": [
                    {
                        "name": f"room{i}",
                        "telegram_chats": [room["telegram"]],
                        "discord_channels": [room["discord"]],
                        "waku_chat": f"bench-room-{i}",
                        "webhooks": [
                            {
                                "channel": room["discord"],
                                "id": room["webhook_id"],
                                "token": room["webhook_token"],
                            }
                        ],
                    }
                    for i, room in enumerate(world["rooms"])
                ],
            }
            settings = parse_config(raw, base_dir=tmp, env={}, platforms=PLATFORMS)
            bridge = Bridge(settings, generate_private_key())
            # Production timings, except that the outbox does not pace per chat.
            relay = wire_features(bridge, tuning=RelayTuning(pacing={}), platforms=PLATFORMS)
            rss_before_bridge = _rss_mb()
            await bridge.start()
            counters = await bridge.store.count(statements=False)
            async with asyncio.timeout(30):
                while not all(a.is_connected() for a in relay.adapters.values()):  # noqa: ASYNC110
                    await asyncio.sleep(0.02)
            bridge.node.add_listener(  # type: ignore[attr-defined]
                lambda topic, m: waku_raw.append((time.monotonic(), topic, m))
            )
            injected = 0

            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as http:

                async def call(path: str, body: object) -> object:
                    async with http.post(control + path, json=body) as response:
                        response.raise_for_status()
                        return await response.json()

                async def fakes_cpu_s() -> float:
                    async with http.get(control + "/cpu") as response:
                        return float(await response.json())

                async def inject(count: int, at_rate: float | None = None) -> list[str]:
                    nonlocal injected
                    texts = await call("/inject", {"count": count, "rate": at_rate})
                    assert isinstance(texts, list)
                    injected += count
                    return [str(t) for t in texts]

                async def arrived(texts: list[str]) -> None:
                    # Discord: the fakes process says when; Waku: the node listener (decoded
                    # afterwards, so that this process does no extra work meanwhile).
                    await call("/wait", {"texts": texts, "timeout": 300})
                    async with asyncio.timeout(300):
                        while len(waku_raw) < injected:  # noqa: ASYNC110
                            await asyncio.sleep(0.01)

                # Warm-up: one message in every room (every target gets its worker).
                await arrived(await inject(rooms_n))
                await relay.wait_idle()
                _freeze_heap(gc_mode)
                rss_warm = _rss_mb()

                # What the bridge spends with nothing to relay (timers, polls, heartbeats):
                # part of every per-message figure below.
                cpu_idle = time.process_time()
                await asyncio.sleep(idle_s)
                cpu_idle = time.process_time() - cpu_idle
                print(
                    f"[fakes] bridge process CPU while idle: {cpu_idle / idle_s * 100:.1f}% of "
                    f"a core ({cpu_idle:.2f} s in {idle_s:.0f} s)"
                )

                at_burst = counters.copy()
                fakes_cpu = await fakes_cpu_s()
                main_burst = time.thread_time()
                steal = _Steal()
                cpu_burst = time.process_time()
                started = time.perf_counter()
                burst = await inject(messages_n)
                await arrived(burst)
                elapsed = time.perf_counter() - started
                await relay.wait_idle()
                cpu_burst = time.process_time() - cpu_burst
                steal_burst = steal.report()
                main_burst = time.thread_time() - main_burst
                fakes_cpu = await fakes_cpu_s() - fakes_cpu
                burst_used = counters - at_burst
                print(
                    f"[fakes] throughput: {messages_n / elapsed:,.0f} messages/s "
                    f"({2 * messages_n / elapsed:,.0f} deliveries/s: Telegram -> Discord + "
                    f"Waku), {messages_n} messages over {rooms_n} rooms"
                )
                print("[fakes] " + _cpu_report("burst", cpu_burst, messages_n))
                print(
                    f"[fakes]   of which its event loop's thread "
                    f"{main_burst * 1000 / messages_n:.2f} ms per message (one core at most: "
                    f"the ceiling on throughput); the fakes process (Telegram's and Discord's "
                    f"stand-ins, same two cores) "
                    f"{fakes_cpu * 1000 / messages_n:.2f} ms per message"
                )
                print("[fakes] " + _store_report("burst", burst_used, messages_n, 2 * messages_n))

                gcp = _GcPauses()
                steady_from = len(waku_raw)
                at_steady = counters.copy()
                steal = _Steal()
                cpu_steady = time.process_time()
                steady = await inject(int(rate * 5), rate)
                await arrived(steady)
                await relay.wait_idle()
                cpu_steady = time.process_time() - cpu_steady
                steal_steady = steal.report()
                gcp_report = gcp.report()
                steady_used = counters - at_steady
                times = await call("/report", {"texts": steady})
                assert isinstance(times, dict)

                # Untimed: a burst with every statement traced.
                await bridge.store.count(statements=True)
                at_counted = counters.copy()
                counted = await inject(COUNTED_MESSAGES)
                await arrived(counted)
                await relay.wait_idle()
                counted_used = counters - at_counted
                fakes_rss = await (await http.get(control + "/rss")).json()
            rss_end = _rss_mb()
            await bridge.stop()

        # Keys (PBKDF2, slow) only now and only for the rooms of the latency run.
        steady_rooms = {f"bench-room-{i % rooms_n}" for i in range(len(steady))}
        keys = {chat_topic(chat): chat_key(chat) for chat in steady_rooms}
        t_waku: dict[str, float] = {}
        for at, _topic, message in waku_raw[steady_from:]:
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

        def lat(start: int) -> tuple[list[float], list[float]]:
            dc = [(times[t][2] - times[t][start]) * 1000 for t in steady]
            wk = [(t_waku[t] - times[t][start]) * 1000 for t in steady if t in t_waku]
            return dc, wk

        for label, start in (("getUpdates answer", 1), ("user post", 0)):
            lat_dc, lat_waku = lat(start)
            both = lat_dc + lat_waku
            print(
                f"[fakes] latency at {rate:.0f} msg/s offered ({label} -> copy on the Discord "
                f"fake / on the node, ms): p50 {statistics.median(both):.2f}  "
                f"p99 {_pct(both, 0.99):.2f}  max {max(both):.2f}"
            )
            print(
                f"[fakes]   Discord p50 {statistics.median(lat_dc):.2f} "
                f"p99 {_pct(lat_dc, 0.99):.2f}"
                f"; Waku p50 {statistics.median(lat_waku):.2f} p99 {_pct(lat_waku, 0.99):.2f}"
                + (f" ({len(missing)} Waku copies not decoded)" if missing else "")
            )
        print("[fakes] " + _store_report("latency run", steady_used, len(steady), 2 * len(steady)))
        print(
            "[fakes] "
            + _store_report(
                "counted burst", counted_used, len(counted), 2 * len(counted), traced=True
            )
        )
        print("[fakes] " + _cpu_report("latency run", cpu_steady, len(steady)))
        print(
            f"[fakes] the machine's CPU time stolen by the hypervisor: {steal_burst} during the "
            f"burst, {steal_steady} during the latency run"
        )
        print("[fakes] " + gcp_report)
        print(
            f"[fakes] bridge process RSS: {rss_end:.0f} MiB at the end, peak {_peak_mb():.0f} MiB, "
            f"with {rooms_n} rooms ({3 * rooms_n} chats); after warm-up {rss_warm:.0f} MiB; "
            f"before the bridge started {rss_before_bridge:.0f} MiB (process start "
            f"{rss_start:.0f})"
        )
        print(
            f"[fakes] fakes process RSS (not the bridge's): {fakes_rss['now']:.0f} MiB, "
            f"peak {fakes_rss['peak']:.0f} MiB"
        )
    finally:
        if fakes.returncode is None:
            fakes.stdin.close()
            try:
                async with asyncio.timeout(10):
                    await fakes.wait()
            except TimeoutError:
                fakes.kill()
                await fakes.wait()


def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
