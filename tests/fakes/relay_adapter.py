"""In-process stand-ins for platforms, for relaying tests: adapters, a clock, a crash child.

``RecordingAdapter`` implements the adapter contract against memory: it records every
delivery, can be told to fail the next calls, to go offline, or to hold sends until released.
``FileAdapter`` writes each send to an append-only file (fsync'd), so a platform's view
survives a ``kill -9`` of the bridge process; ``python -m tests.fakes.relay_adapter`` is that
process.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from bots.discord.ids import DiscordChannelId, discord_channel
from bots.telegram.ids import TelegramChatId, telegram_chat
from bridge.model import (
    Adapter,
    Author,
    Capabilities,
    ChatRef,
    Delivery,
    Feature,
    InboundSink,
    NativeId,
    NewMessage,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    Platform,
    Relayed,
    RichText,
    UserId,
    WakuChatId,
)
from bridge.outbox import Outbox, OutboxMetrics, OutboxPolicy, Pace
from bridge.router import Room, Router
from bridge.store import Store, outbox_rows
from bridge.store.outbox_rows import OutboxRow

ALL_FEATURES = (
    Feature.EDIT
    | Feature.DELETE
    | Feature.REPLY
    | Feature.REACT
    | Feature.IDENTITY
    | Feature.ATTACHMENTS
)


class FakeClock:
    """A clock that moves only when told to; ``sleep`` returns once ``advance`` passes it."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.t = start
        self.sleeps: list[float] = []
        self._waiters: list[asyncio.Future[None]] = []

    def now(self) -> float:
        return self.t

    async def sleep_until(self, when: float) -> None:
        self.sleeps.append(when - self.t)
        while self.t < when:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def advance(self, seconds: float) -> None:
        self.t += seconds
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)


@dataclass
class Call:
    delivery: Delivery
    outcome: str  # "ok" or the exception's class name


class RecordingAdapter(Adapter):
    """A platform in memory. Subclasses fix ``platform`` (it is a class-level fact)."""

    capabilities: ClassVar[Capabilities] = Capabilities(ALL_FEATURES, 4096)

    def __init__(self) -> None:
        self.connected = True
        # Chats the adapter is not allowed to post in yet (a Status community that has not
        # admitted the bridge), with the reason.
        self.holding: dict[ChatRef, str] = {}
        self.calls: list[Call] = []
        # What the platform shows: target -> native id -> text, in posting order.
        self.posted: dict[ChatRef, dict[NativeId, OutboundMessage]] = defaultdict(dict)
        self.texts: dict[NativeId, str] = {}
        self.deleted: set[NativeId] = set()
        self.reactions: list[OutboundReaction] = []
        self.by_key: dict[str, NativeId] = {}
        self.failures: list[Exception] = []
        self.hold: asyncio.Event | None = None
        self.held = asyncio.Event()  # set once a call is waiting on ``hold``
        # Post the message, then never return: a crash between the platform and the store.
        self.hang_after_post = False
        self.sink: InboundSink | None = None
        self._next = 0

    async def start(self, sink: InboundSink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.sink = None

    def is_connected(self) -> bool:
        return self.connected

    def hold_reason(self, chat: ChatRef) -> str | None:
        return self.holding.get(chat)

    def fail_next(self, *errors: Exception) -> None:
        self.failures.extend(errors)

    def sends(self, target: ChatRef) -> list[OutboundMessage]:
        return list(self.posted[target].values())

    async def _enter(self, delivery: Delivery) -> None:
        if self.hold is not None:
            self.held.set()
            await self.hold.wait()
        if self.failures:
            error = self.failures.pop(0)
            self.calls.append(Call(delivery, type(error).__name__))
            raise error
        self.calls.append(Call(delivery, "ok"))

    async def send(self, delivery: OutboundMessage) -> NativeId:
        await self._enter(delivery)
        self._next += 1
        native_id = NativeId(f"{self.platform}-{self._next}")
        self.posted[delivery.target][native_id] = delivery
        self.texts[native_id] = delivery.text.text
        self.by_key[delivery.idempotency_key] = native_id
        if self.hang_after_post:
            await asyncio.Event().wait()
        return native_id

    async def edit(self, delivery: OutboundEdit) -> None:
        await self._enter(delivery)
        self.texts[delivery.native_id] = delivery.text.text

    async def delete(self, delivery: OutboundDelete) -> None:
        await self._enter(delivery)
        self.deleted.add(delivery.native_id)

    async def react(self, delivery: OutboundReaction) -> None:
        await self._enter(delivery)
        self.reactions.append(delivery)

    async def recover(self, delivery: OutboundMessage) -> NativeId | None:
        return self.by_key.get(delivery.idempotency_key)


class FakeTelegram(RecordingAdapter):
    platform: ClassVar[Platform] = "telegram"


class FakeDiscord(RecordingAdapter):
    platform: ClassVar[Platform] = "discord"


class FakeWaku(RecordingAdapter):
    platform: ClassVar[Platform] = "waku"


TG = telegram_chat(TelegramChatId(-1001))
TG2 = telegram_chat(TelegramChatId(-1002))
DC = discord_channel(DiscordChannelId(555))
WK = ChatRef.waku(WakuChatId("parley"))


def author(platform: Platform = "telegram", name: str = "alice") -> Author:
    return Author(platform, UserId(f"{name}-id"), name.title(), username=name)


def new_message(
    source: ChatRef,
    native_id: str,
    text: str,
    *,
    reply_to: str | None = None,
    who: Author | None = None,
) -> NewMessage:
    return NewMessage(
        source=source,
        native_id=NativeId(native_id),
        author=who or author(source.platform),
        text=RichText(text),
        timestamp=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
        reply_to=None if reply_to is None else NativeId(reply_to),
    )


class Relay:
    """Router + outbox + fake platforms on one store file, restartable like the real bridge.

    The fake adapters outlive a restart, as the platforms would.
    """

    def __init__(
        self,
        path: Path,
        rooms: list[Room] | None = None,
        *,
        clock: FakeClock | None = None,
        policy: OutboxPolicy | None = None,
        pacing: dict[Platform, Pace] | None = None,
        metrics: OutboxMetrics | None = None,
    ) -> None:
        self.path = path
        self.rooms = rooms if rooms is not None else [Room("lobby", (TG, DC, WK))]
        self.clock = clock or FakeClock()
        self.policy = policy
        self.pacing = pacing or {}
        self.metrics = metrics
        self.tg, self.dc, self.wk = FakeTelegram(), FakeDiscord(), FakeWaku()
        self._store: Store | None = None
        self._router: Router | None = None
        self._outbox: Outbox | None = None

    @property
    def store(self) -> Store:
        assert self._store is not None
        return self._store

    @property
    def router(self) -> Router:
        assert self._router is not None
        return self._router

    @property
    def outbox(self) -> Outbox:
        assert self._outbox is not None
        return self._outbox

    async def open(self) -> Relay:
        self._store = await Store.open(self.path)
        self._outbox = Outbox(
            self._store,
            [self.tg, self.dc, self.wk],
            policy=self.policy,
            pacing=self.pacing,
            clock=self.clock,
            metrics=self.metrics,
            rng=random.Random(7),
        )
        self._router = Router(
            self._store, self.rooms, notify=self._outbox.notify, clock=self.clock.now
        )
        await self._outbox.start()
        return self

    async def close(self) -> None:
        await self.outbox.stop()
        await self.store.close()

    async def restart(self) -> None:
        await self.close()
        await self.open()

    async def handle(self, event: Relayed) -> None:
        await self.router.handle(event)

    async def settle(self) -> None:
        """Wait until nothing more happens without the clock moving (guarded, not timed)."""
        async with asyncio.timeout(30):
            await self.outbox.wait_idle()

    async def until(self, predicate: Callable[[], bool]) -> None:
        """Wait for a condition that no single event signals (guarded, not timed)."""
        async with asyncio.timeout(30):
            while not predicate():  # noqa: ASYNC110 - polls several objects' state
                await asyncio.sleep(0)

    async def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        await self.settle()

    async def rows(self) -> list[OutboxRow]:
        async with self.store.db.execute("SELECT id FROM relay_outbox ORDER BY id") as cur:
            ids = [r[0] for r in await cur.fetchall()]
        found = []
        for row_id in ids:
            row = await outbox_rows.get(self.store.db, row_id)
            assert row is not None
            found.append(row)
        return found


# --- a platform whose memory survives kill -9 ---------------------------------------------


class FileAdapter(Adapter):
    """Each send is one fsync'd JSON line in ``log``; ``recover`` reads it back by key."""

    capabilities: ClassVar[Capabilities] = Capabilities(ALL_FEATURES, 4096)

    def __init__(self, log: Path) -> None:
        self.log = log

    async def start(self, sink: InboundSink) -> None:
        return None

    async def stop(self) -> None:
        return None

    def is_connected(self) -> bool:
        return True

    async def send(self, delivery: OutboundMessage) -> NativeId:
        native_id = NativeId(f"n-{delivery.idempotency_key}")
        line = json.dumps(
            {
                "target": str(delivery.target),
                "text": delivery.text.text,
                "key": delivery.idempotency_key,
                "native_id": native_id,
            }
        )
        fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        # Give a kill -9 a wide window between "the platform has it" and "the store knows".
        await asyncio.sleep(0)
        return native_id

    async def recover(self, delivery: OutboundMessage) -> NativeId | None:
        for entry in read_log(self.log):
            if entry["key"] == delivery.idempotency_key:
                return NativeId(entry["native_id"])
        return None


def read_log(log: Path) -> list[dict[str, str]]:
    if not log.exists():
        return []
    entries: list[dict[str, str]] = []
    for line in log.read_text().splitlines():
        if line.strip():
            entries.append(json.loads(line))
    return entries


class FileDiscord(FileAdapter):
    platform: ClassVar[Platform] = "discord"


class FileWaku(FileAdapter):
    platform: ClassVar[Platform] = "waku"


async def crash_child(db: Path, log: Path, accepted: Path, count: int) -> None:
    """Relay ``count`` messages from TG to DC and WK as fast as possible, forever after."""
    store = await Store.open(db)
    outbox = Outbox(store, [FileDiscord(log), FileWaku(log)], pacing={})
    router = Router(store, [Room("r", (TG, DC, WK))], notify=outbox.notify)
    await outbox.start()
    fd = os.open(accepted, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    for i in range(count):
        await router.handle(new_message(TG, str(i), f"message {i}"))
        # handle() returned: the message is durable, so it must be delivered after a crash.
        os.write(fd, f"{i}\n".encode())
    await asyncio.Event().wait()


if __name__ == "__main__":
    db_arg, log_arg, accepted_arg, count_arg = sys.argv[1:5]
    asyncio.run(crash_child(Path(db_arg), Path(log_arg), Path(accepted_arg), int(count_arg)))
