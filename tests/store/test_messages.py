from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bridge.model import Attachment, MessageId, NativeId, RichText, Span
from bridge.store import Store, messages, outbox_rows
from bridge.store.outbox_rows import NewRow
from tests.fakes.relay_adapter import DC, TG, WK, author, new_message


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "parley.db")
    yield store
    await store.close()


RICH = RichText(
    "bold link `x`",
    (
        Span("bold", 0, 4),
        Span("link", 5, 9, url="https://example.org"),
        Span("pre", 10, 13, language="py"),
    ),
)


async def test_a_message_round_trips_with_text_author_and_attachments(store: Store) -> None:
    event = replace(
        new_message(TG, "42", "", who=author("telegram", "dora")),
        text=RICH,
        attachments=(
            Attachment("photo", "cat.jpg", "image/jpeg", 3, data=b"\x00\xffz"),
            Attachment("file", "a.pdf", "application/pdf", url="https://files.example/a.pdf"),
        ),
    )
    async with store.transaction() as db:
        message_id = await messages.insert(db, "lobby", event, None, now=1000.0)
    stored = await messages.get(store.db, message_id)
    assert stored is not None
    assert (stored.room, stored.source, stored.native_id) == ("lobby", TG, "42")
    assert stored.author == event.author
    assert stored.text == RICH
    assert stored.attachments == event.attachments
    assert stored.sent_at == event.timestamp
    assert stored.reply_to is None and not stored.deleted


async def test_the_id_map_knows_origins_and_copies(store: Store) -> None:
    async with store.transaction() as db:
        first = await messages.insert(db, "lobby", new_message(TG, "1", "a"), None, 1000.0)
        second = await messages.insert(db, "lobby", new_message(TG, "2", "b"), first, 1000.0)
        await messages.record_copies(db, [(first, DC, NativeId("d1"))])
    hit = await messages.lookup_native(store.db, TG, NativeId("1"))
    assert hit == messages.IdMapHit(first, origin=True)
    assert await messages.lookup_native(store.db, DC, NativeId("d1")) == messages.IdMapHit(
        first, origin=False
    )
    assert await messages.lookup_native(store.db, WK, NativeId("1")) is None
    assert await messages.native_id_in(store.db, first, DC) == "d1"
    assert await messages.native_id_in(store.db, first, WK) is None
    assert set(await messages.chats_of(store.db, first)) == {TG, DC}
    parent = await messages.get(store.db, second)
    assert parent is not None and parent.reply_to == first


async def test_a_delivered_send_maps_its_copy_and_a_newer_copy_replaces_it(store: Store) -> None:
    async with store.transaction() as db:
        first = await messages.insert(db, "lobby", new_message(TG, "1", "a"), None, 1.0)
        await outbox_rows.insert(db, [NewRow(first, DC, "send"), NewRow(first, WK, "send")], 1.0)
        await outbox_rows.insert(db, [NewRow(first, DC, "edit", "[]")], 1.0)
    [to_dc, edit] = await outbox_rows.open_rows(store.db, DC, 10)
    [to_wk] = await outbox_rows.open_rows(store.db, WK, 10)
    async with store.transaction() as db:
        await outbox_rows.mark_delivered(db, [(to_dc.id, NativeId("d1")), (to_wk.id, None)])
        await outbox_rows.mark_delivered(db, [(edit.id, None)])
    assert set(await messages.chats_of(store.db, first)) == {TG, DC}
    assert await messages.lookup_native(store.db, DC, NativeId("d1")) == messages.IdMapHit(
        first, origin=False
    )
    # Sent again (an adapter that re-posts): the id map follows the newer copy.
    async with store.transaction() as db:
        await outbox_rows.reschedule(db, [(to_dc.id, 0, 1.0, "again")])
        await outbox_rows.mark_delivered(db, [(to_dc.id, NativeId("d2"))])
    assert await messages.native_id_in(store.db, first, DC) == "d2"
    assert await messages.lookup_native(store.db, DC, NativeId("d1")) is None


async def test_edits_and_deletes_update_the_stored_message(store: Store) -> None:
    async with store.transaction() as db:
        message_id = await messages.insert(db, "lobby", new_message(TG, "1", "helo"), None, 1.0)
        await messages.set_text(db, message_id, RICH)
        await messages.mark_deleted(db, message_id)
    stored = await messages.get(store.db, message_id)
    assert stored is not None and stored.text == RICH and stored.deleted


async def test_prune_forgets_old_messages_but_not_undelivered_ones(store: Store) -> None:
    async with store.transaction() as db:
        old_done = await messages.insert(db, "lobby", new_message(TG, "1", "a"), None, 100.0)
        old_open = await messages.insert(db, "lobby", new_message(TG, "2", "b"), None, 100.0)
        recent = await messages.insert(db, "lobby", new_message(TG, "3", "c"), None, 900.0)
        await messages.record_copies(db, [(old_done, DC, NativeId("d1"))])
        await outbox_rows.insert(db, [NewRow(old_done, DC, "send")], 100.0)
        await outbox_rows.insert(db, [NewRow(old_open, DC, "send")], 100.0)
        [done_row, _] = await outbox_rows.open_rows(db, DC, 10)
        await outbox_rows.mark_delivered(db, [(done_row.id, NativeId("d1"))])
    async with store.transaction() as db:
        assert await outbox_rows.prune(db, before=500.0) == 1
        assert await messages.prune(db, before=500.0) == 1
    assert await messages.get(store.db, old_done) is None
    assert await messages.lookup_native(store.db, DC, NativeId("d1")) is None
    assert await messages.get(store.db, old_open) is not None
    assert await messages.get(store.db, recent) is not None
    assert [r.message_id for r in await outbox_rows.open_rows(store.db, DC, 10)] == [old_open]


async def test_outbox_payloads_round_trip(store: Store) -> None:
    assert outbox_rows.decode_edit(outbox_rows.encode_edit(RICH)) == RICH
    who = author("discord", "erin")
    reaction = outbox_rows.decode_react(outbox_rows.encode_react("🎉", False, who))
    assert (reaction.emoji, reaction.added, reaction.author) == ("🎉", False, who)
    async with store.transaction() as db:
        message_id = await messages.insert(db, "lobby", new_message(TG, "1", "a"), None, 1.0)
        await outbox_rows.insert(
            db,
            [NewRow(message_id, DC, "send"), NewRow(MessageId(message_id), WK, "send")],
            5.0,
        )
    rows = [
        *await outbox_rows.open_rows(store.db, DC, 5),
        *await outbox_rows.open_rows(store.db, WK, 5),
    ]
    assert [(r.target, r.state, r.attempts, r.next_attempt_at) for r in rows] == [
        (DC, "pending", 0, 5.0),
        (WK, "pending", 0, 5.0),
    ]
    keys = {r.idempotency_key for r in rows}
    assert len(keys) == 2 and all(len(k) <= 25 for k in keys)
    assert set(await outbox_rows.open_targets(store.db)) == {DC, WK}
    assert await outbox_rows.count_open(store.db) == 2
