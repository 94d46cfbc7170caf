from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import pytest

from bridge.model import (
    Capabilities,
    DeliveryKind,
    EditMessage,
    Feature,
    MessageId,
    NativeId,
    PermanentError,
    Platform,
    RetryableError,
    RichText,
)
from bridge.outbox import Outbox, OutboxPolicy, Pace
from bridge.router import Room, Router
from bridge.store import Store, messages, outbox_rows
from bridge.store.outbox_rows import NewRow
from tests.fakes.relay_adapter import (
    DC,
    TG,
    WK,
    FakeDiscord,
    FileDiscord,
    FileWaku,
    Relay,
    new_message,
    read_log,
)

REPO = Path(__file__).resolve().parent.parent
WHEN = datetime(2024, 5, 1, 12, 5, tzinfo=UTC)


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    relay = await Relay(tmp_path / "parley.db").open()
    yield relay
    await relay.close()


def texts(relay: Relay) -> list[str]:
    return [m.text.text for m in relay.dc.sends(DC)]


async def test_retry_after_is_honoured_exactly(relay: Relay) -> None:
    relay.dc.fail_next(RetryableError("429 Too Many Requests", retry_after=30.0))
    start = relay.clock.now()
    await relay.handle(new_message(TG, "1", "hi"))
    await relay.settle()

    [row] = [r for r in await relay.rows() if r.target == DC]
    assert (row.state, row.attempts, row.next_attempt_at) == ("pending", 1, start + 30.0)
    assert row.last_error is not None and "429" in row.last_error
    await relay.advance(29.9)
    assert texts(relay) == []
    await relay.advance(0.1)
    assert texts(relay) == ["hi"]
    assert [c.outcome for c in relay.dc.calls] == ["RetryableError", "ok"]


async def test_backoff_grows_exponentially_with_bounded_jitter(relay: Relay) -> None:
    relay.dc.fail_next(*(RetryableError("502") for _ in range(4)))
    await relay.handle(new_message(TG, "1", "hi"))
    await relay.settle()
    delays = []
    for _ in range(4):
        [row] = [r for r in await relay.rows() if r.target == DC]
        delay = row.next_attempt_at - relay.clock.now()
        delays.append(delay)
        await relay.advance(delay)
    for attempt, delay in enumerate(delays, start=1):
        full = 2.0 ** (attempt - 1)
        assert full / 2 <= delay <= full
    assert texts(relay) == ["hi"]


async def test_a_permanent_error_fails_the_row_once_and_the_queue_moves_on(relay: Relay) -> None:
    relay.dc.fail_next(PermanentError("400 Bad Request: message is too long"))
    await relay.handle(new_message(TG, "1", "x" * 5000))
    await relay.handle(new_message(TG, "2", "short"))
    await relay.settle()
    await relay.advance(3600)

    states = [(r.state, r.attempts, r.last_error) for r in await relay.rows() if r.target == DC]
    assert states == [
        ("failed", 1, "400 Bad Request: message is too long"),
        ("delivered", 0, None),
    ]
    assert len(relay.dc.calls) == 2
    assert texts(relay) == ["short"]
    # An edit of the failed message has no copy to edit on Discord: it is not even queued.
    await relay.handle(EditMessage(TG, NativeId("1"), RichText("shorter"), WHEN))
    await relay.settle()
    assert len(relay.dc.calls) == 2


async def test_attempts_run_out(tmp_path: Path) -> None:
    relay = await Relay(tmp_path / "p.db", policy=OutboxPolicy(max_attempts=3)).open()
    try:
        relay.dc.fail_next(*(RetryableError("503", retry_after=1.0) for _ in range(5)))
        await relay.handle(new_message(TG, "1", "hi"))
        await relay.settle()
        for _ in range(5):
            await relay.advance(1.0)
        [row] = [r for r in await relay.rows() if r.target == DC]
        assert row.state == "failed" and row.attempts == 3
        assert row.last_error is not None and row.last_error.startswith("gave up after 3")
        assert len(relay.dc.calls) == 3
    finally:
        await relay.close()


async def test_a_disconnected_adapter_holds_rows_without_spending_attempts(relay: Relay) -> None:
    relay.dc.connected = False
    await relay.handle(new_message(TG, "1", "hi"))
    await relay.settle()
    await relay.advance(600)
    assert relay.dc.calls == []
    [row] = [r for r in await relay.rows() if r.target == DC]
    assert (row.state, row.attempts) == ("pending", 0)
    assert len(relay.wk.sends(WK)) == 1  # the other target went ahead

    relay.dc.connected = True
    await relay.advance(1.0)
    assert texts(relay) == ["hi"]
    [row] = [r for r in await relay.rows() if r.target == DC]
    assert (row.state, row.attempts) == ("delivered", 0)


async def test_rows_older_than_max_age_fail(tmp_path: Path) -> None:
    relay = await Relay(tmp_path / "p.db", policy=OutboxPolicy(max_age=60.0)).open()
    try:
        relay.dc.connected = False
        await relay.handle(new_message(TG, "1", "hi"))
        await relay.advance(61.0)
        relay.dc.connected = True
        await relay.advance(1.0)
        [row] = [r for r in await relay.rows() if r.target == DC]
        assert row.state == "failed" and row.last_error is not None
        assert row.last_error.startswith("expired")
        assert relay.dc.calls == []
    finally:
        await relay.close()


async def test_order_within_a_target_holds_under_retries(relay: Relay) -> None:
    relay.dc.fail_next(RetryableError("timeout"), RetryableError("timeout", retry_after=5.0))
    for i in range(1, 5):
        await relay.handle(new_message(TG, str(i), f"m{i}"))
    await relay.settle()
    assert [m.text.text for m in relay.wk.sends(WK)] == ["m1", "m2", "m3", "m4"]
    assert texts(relay) == []
    for _ in range(3):
        await relay.advance(5.0)
    assert texts(relay) == ["m1", "m2", "m3", "m4"]
    attempted = [c.delivery for c in relay.dc.calls]
    assert [getattr(d, "text", RichText("")).text for d in attempted] == [
        "m1",
        "m1",
        "m1",
        "m2",
        "m3",
        "m4",
    ]


async def test_restart_delivers_pending_rows_once_and_keeps_the_id_map(relay: Relay) -> None:
    relay.dc.connected = False
    await relay.handle(new_message(TG, "1", "first"))
    await relay.handle(new_message(TG, "2", "second"))
    await relay.settle()
    assert len(relay.wk.sends(WK)) == 2

    await relay.restart()
    relay.dc.connected = True
    await relay.advance(1.0)
    await relay.restart()
    await relay.settle()
    assert texts(relay) == ["first", "second"]
    assert len(relay.wk.sends(WK)) == 2

    # After the restart, an edit still finds each copy.
    await relay.handle(EditMessage(TG, NativeId("2"), RichText("second!"), WHEN))
    await relay.settle()
    dc_copy = list(relay.dc.posted[DC])[1]
    wk_copy = list(relay.wk.posted[WK])[1]
    assert relay.dc.texts[dc_copy] == "second!"
    assert relay.wk.texts[wk_copy] == "second!"


async def test_a_send_cut_short_is_recovered_not_repeated(relay: Relay) -> None:
    relay.dc.hang_after_post = True
    await relay.handle(new_message(TG, "1", "once"))
    await relay.until(lambda: bool(relay.dc.posted[DC]))
    await relay.close()  # like a crash: the platform has it, the store says "sending"

    relay.dc.hang_after_post = False
    await relay.open()
    await relay.settle()
    assert texts(relay) == ["once"]
    [row] = [r for r in await relay.rows() if r.target == DC]
    assert row.state == "delivered" and row.native_id == next(iter(relay.dc.posted[DC]))
    assert len(relay.dc.calls) == 1


class _EditlessDiscord(FakeDiscord):
    capabilities: ClassVar[Capabilities] = Capabilities(Feature.REPLY, 2000)


async def test_what_a_target_cannot_do_is_skipped(tmp_path: Path) -> None:
    relay = Relay(tmp_path / "p.db")
    relay.dc = _EditlessDiscord()
    await relay.open()
    try:
        await relay.handle(new_message(TG, "1", "v1"))
        await relay.handle(EditMessage(TG, NativeId("1"), RichText("v2"), WHEN))
        await relay.settle()
        assert [c.delivery.kind for c in relay.dc.calls] == ["send"]
        states = [(r.kind, r.state) for r in await relay.rows() if r.target == DC]
        assert states == [("send", "delivered"), ("edit", "skipped")]
        assert relay.wk.texts[next(iter(relay.wk.posted[WK]))] == "v2"
    finally:
        await relay.close()


async def test_pacing_spreads_a_burst(tmp_path: Path) -> None:
    relay = await Relay(tmp_path / "p.db", pacing={"discord": Pace(5, 5.0)}).open()
    try:
        for i in range(7):
            await relay.handle(new_message(TG, str(i), f"m{i}"))
        # The sixth send waits for a token; the worker sleeps on the clock, not on the store.
        await relay.until(lambda: len(relay.wk.sends(WK)) == 7)  # Waku is not paced
        await relay.until(lambda: 1.0 in relay.clock.sleeps)
        assert len(relay.dc.calls) == 5
        relay.clock.advance(1.0)
        await relay.until(lambda: relay.clock.sleeps.count(1.0) == 2)
        assert len(relay.dc.calls) == 6
        relay.clock.advance(1.0)
        await relay.settle()
        assert texts(relay) == [f"m{i}" for i in range(7)]
    finally:
        await relay.close()


class _Metrics:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, Platform, DeliveryKind]] = Counter()
        self.depths: list[int] = []

    def delivered(self, platform: Platform, kind: DeliveryKind) -> None:
        self.counts["delivered", platform, kind] += 1

    def retried(self, platform: Platform, kind: DeliveryKind) -> None:
        self.counts["retried", platform, kind] += 1

    def failed(self, platform: Platform, kind: DeliveryKind) -> None:
        self.counts["failed", platform, kind] += 1

    def depth(self, open_rows: int) -> None:
        self.depths.append(open_rows)


async def test_metrics_hooks_count_outcomes_and_depth(tmp_path: Path) -> None:
    metrics = _Metrics()
    relay = await Relay(tmp_path / "p.db", metrics=metrics).open()
    try:
        relay.dc.fail_next(RetryableError("502"), PermanentError("403 Forbidden"))
        await relay.handle(new_message(TG, "1", "a"))
        await relay.settle()
        await relay.advance(10.0)
        assert metrics.counts == Counter(
            {
                ("delivered", "waku", "send"): 1,
                ("retried", "discord", "send"): 1,
                ("failed", "discord", "send"): 1,
            }
        )
        assert max(metrics.depths) == 2
        assert metrics.depths[-1] == 0 == relay.outbox.open_rows
    finally:
        await relay.close()


async def test_retention_prunes_the_id_map(tmp_path: Path) -> None:
    relay = await Relay(
        tmp_path / "p.db", policy=OutboxPolicy(retention=86400.0, prune_every=1e9)
    ).open()
    try:
        await relay.handle(new_message(TG, "1", "old"))
        await relay.settle()
        relay.clock.advance(2 * 86400.0)
        await relay.handle(new_message(TG, "2", "new"))
        await relay.settle()
        assert await relay.outbox.prune() == 1
        assert await relay.router.lookup(TG, NativeId("1")) is None
        assert await relay.router.lookup(TG, NativeId("2")) is not None
    finally:
        await relay.close()


async def test_kill_9_loses_nothing_and_delivers_exactly_once(tmp_path: Path) -> None:
    db, log, accepted = tmp_path / "p.db", tmp_path / "platform.log", tmp_path / "accepted"
    count = 400
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.relay_adapter",
        str(db),
        str(log),
        str(accepted),
        str(count),
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        async with asyncio.timeout(120):
            while len(read_log(log)) < count // 2:  # noqa: ASYNC110 - another process's file
                await asyncio.sleep(0.005)
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    delivered_before = len(read_log(log))
    recorded = [int(line) for line in accepted.read_text().split()]
    assert delivered_before < 2 * count  # the crash came mid-stream

    store = await Store.open(db)
    outbox = Outbox(store, [FileDiscord(log), FileWaku(log)], pacing={})
    Router(store, [Room("r", (TG, DC, WK))], notify=outbox.notify)
    await outbox.start()
    async with asyncio.timeout(60):
        await outbox.wait_idle()
    await outbox.stop()

    entries = read_log(log)
    per_copy = Counter((e["target"], e["text"]) for e in entries)
    assert max(per_copy.values()) == 1  # nothing posted twice
    for i in recorded:  # everything the router accepted arrived, on both targets
        assert per_copy[str(DC), f"message {i}"] == 1
        assert per_copy[str(WK), f"message {i}"] == 1
    # ...and the id map points at exactly the copies the platform has.
    for e in entries:
        target = DC if e["target"] == str(DC) else WK
        hit = await messages.lookup_native(store.db, target, NativeId(e["native_id"]))
        assert hit is not None and not hit.origin
    await store.close()


async def test_rows_handed_over_by_the_router_are_not_read_back(relay: Relay) -> None:
    await relay.handle(new_message(TG, "0", "warm"))
    await relay.settle()
    counters = await relay.store.count()
    statements: list[str] = []
    await relay.store.db.set_trace_callback(statements.append)
    for i in range(1, 4):
        await relay.handle(new_message(TG, str(i), f"m{i}"))
    await relay.settle()
    assert texts(relay) == ["warm", "m1", "m2", "m3"]
    assert counters.round_trips > 0
    assert not [s for s in statements if s.startswith("SELECT") and "relay_outbox" in s]


async def test_a_late_notify_for_rows_already_read_delivers_nothing_twice(relay: Relay) -> None:
    # A notify may reach the outbox after its worker read (and delivered) the same rows from
    # the table: the router's coroutine resumes after the commit, the worker may run first.
    await relay.handle(new_message(TG, "0", "warm"))
    await relay.settle()
    stored = await messages.get(relay.store.db, MessageId(1))
    assert stored is not None
    async with relay.store.transaction() as db:
        rows = await outbox_rows.insert(db, [NewRow(stored.id, DC, "send")], relay.clock.now())
    relay.outbox.notify([DC])  # without the rows: the worker reads them
    await relay.settle()
    assert texts(relay) == ["warm", "warm"]
    relay.outbox.notify([DC], None, rows)  # the same rows, late
    await relay.settle()
    assert texts(relay) == ["warm", "warm"]
    # ... and rows handed over afterwards still go out.
    await relay.handle(new_message(TG, "1", "after"))
    await relay.settle()
    assert texts(relay) == ["warm", "warm", "after"]
