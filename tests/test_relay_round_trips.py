"""What relaying costs in store round trips (deterministic, unlike time; bench/relay.py
reports the same counters for the whole bridge)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bridge.model import Attachment, MessageId, RichText, Span
from bridge.router import Room
from bridge.store import messages
from bridge.store.messages import StoredMessage
from tests.fakes.relay_adapter import DC, TG, WK, Relay, new_message


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    relay = await Relay(tmp_path / "parley.db").open()
    yield relay
    await relay.close()


class _Seen:
    def __init__(self) -> None:
        self.new: list[StoredMessage] = []

    async def on_new_message(self, stored: StoredMessage) -> None:
        self.new.append(stored)

    async def on_deleted(self, message_id: MessageId) -> None:
        return None


async def test_a_relayed_message_takes_a_fixed_number_of_round_trips(tmp_path: Path) -> None:
    # One target, so that no two workers' commits may or may not coincide.
    relay = await Relay(tmp_path / "one.db", [Room("pair", (TG, DC))]).open()
    try:
        await relay.handle(new_message(TG, "0", "warm"))  # the worker exists, as when running
        await relay.settle()
        counters = await relay.store.count()
        relay.router.add_observer(_Seen())
        await relay.handle(new_message(TG, "1", "hello"))
        await relay.settle()
        assert [m.text.text for m in relay.dc.sends(DC)] == ["warm", "hello"]
        # Router: BEGIN, insert-unless-known (with its id map entry), outbox rows, COMMIT (4).
        # The worker: "sending" (1) and "delivered" with the copy's id map entry (1), each one
        # statement that commits by itself. Neither the message nor its rows are read back
        # (the router hands them over): not by the worker, not for the observer.
        assert counters.round_trips == 4 + 1 + 1
        assert counters.transactions == 3
    finally:
        await relay.close()


async def test_a_delivery_is_one_statement_as_traced(tmp_path: Path) -> None:
    relay = await Relay(tmp_path / "one.db", [Room("pair", (TG, DC))]).open()
    try:
        await relay.handle(new_message(TG, "0", "warm"))
        await relay.settle()
        counters = await relay.store.count()
        await relay.handle(new_message(TG, "1", "hello"))
        await relay.settle()
        assert [m.text.text for m in relay.dc.sends(DC)] == ["warm", "hello"]
        # Router: BEGIN, insert-unless-known, outbox rows, COMMIT (4); the worker: "sending"
        # (1) and "delivered" (1). The id map entries that triggers write (migrations 0065,
        # 0066) are part of the statements that fire them, not statements of their own.
        assert counters.statements == 4 + 1 + 1
    finally:
        await relay.close()


async def test_a_messages_targets_are_marked_sending_in_one_statement(relay: Relay) -> None:
    await relay.handle(new_message(TG, "0", "warm"))
    await relay.settle()
    seen: list[str] = []
    await relay.store.db.set_trace_callback(seen.append)
    await relay.handle(new_message(TG, "1", "hello"))
    await relay.settle()
    await relay.store.db.set_trace_callback(None)  # type: ignore[arg-type]
    # SQLite traces a trigger's program with the text of the statement that fired it.
    ran = [sql for i, sql in enumerate(seen) if i == 0 or sql != seen[i - 1]]
    # Both targets' workers start at once: one statement, committed by SQLite itself.
    [at] = [i for i, sql in enumerate(ran) if "state = 'sending'" in sql]
    assert " IN (" in ran[at]
    assert ran[at - 1] == "COMMIT"  # the router's; no BEGIN of its own
    # They end at once here too (the fakes answer at once): one statement again.
    [done] = [i for i, sql in enumerate(ran) if "state = 'delivered'" in sql]
    assert ran[done - 1] != "BEGIN IMMEDIATE"
    assert {(m.target, m.text.text) for m in relay.dc.sends(DC) + relay.wk.sends(WK)} >= {
        (DC, "hello"),
        (WK, "hello"),
    }
    rows = await relay.store.db.execute_fetchall(
        "SELECT n.platform, n.native_id FROM relay_native_ids n JOIN relay_messages m"
        " ON m.id = n.message_id WHERE m.source_native_id = '1' AND n.origin = 0"
    )
    assert sorted(tuple(r) for r in rows) == [("discord", "discord-2"), ("waku", "waku-2")]


async def test_observers_and_deliveries_get_the_message_as_stored(relay: Relay) -> None:
    seen = _Seen()
    relay.router.add_observer(seen)
    await relay.handle(new_message(TG, "1", "parent"))
    event = replace(
        new_message(TG, "2", "", reply_to="1"),
        text=RichText("bold link", (Span("bold", 0, 4), Span("link", 5, 9, url="https://a.b"))),
        attachments=(Attachment("photo", "cat.jpg", "image/jpeg", 3, data=b"\x00\xffz"),),
    )
    await relay.handle(event)
    await relay.settle()
    assert [m.native_id for m in seen.new] == ["1", "2"]
    for stored in seen.new:
        assert stored == await messages.get(relay.store.db, stored.id)
    delivered = relay.dc.sends(DC)[-1]
    assert delivered.text == event.text
    assert delivered.attachments == event.attachments
    assert delivered.sent_at == seen.new[1].sent_at
    assert delivered.reply_to is not None  # the parent's copy in that chat
