"""The embedded node: nwaku-style validation, delivery, the SQLite archive and retention."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.store import Store, waku_messages
from bridge.waku.embedded import EmbeddedNode, PublishRejectedError, QueryRejectedError
from bridge.waku.message import WakuMessage, message_hash
from bridge.waku.node import HistoryQuery, NodeError, ReceivedMessage
from tests.waku.support import Inbox

TOPIC = "/waku/2/rs/16/32"
OTHER = "/waku/2/rs/16/64"
CT = "/parley/1/room/proto"
SEC = 1_000_000_000
T0 = 1_700_000_000 * SEC


class Clock:
    """A settable clock (ns), so no test depends on how fast the machine is."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "parley.db")
    yield s
    await s.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def node(store: Store, clock: Clock) -> AsyncIterator[EmbeddedNode]:
    n = EmbeddedNode(store, clock=clock)
    await n.start()
    yield n
    await n.stop()


def msg(text: str, ts: int | None = None, ct: str = CT, **kw: object) -> WakuMessage:
    return WakuMessage(payload=text.encode(), content_topic=ct, timestamp=ts, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("topic", "message", "reason"),
    [
        (TOPIC, msg(""), "payload"),
        ("/waku/2/default-waku/proto", msg("x"), "Invalid pubsub topic"),
        ("/waku/2/rs/1/0", msg("x"), "cluster 16"),
        (TOPIC, msg("x", ct="no-leading-slash/1/a/b"), "Invalid content topic"),
        (TOPIC, msg("x", meta=b"m" * 65), "meta"),
        (TOPIC, msg("x" * 2000), "size exceeded"),
    ],
)
async def test_publish_validates_like_nwaku(
    store: Store, clock: Clock, topic: str, message: WakuMessage, reason: str
) -> None:
    node = EmbeddedNode(store, clock=clock, max_message_size=1000)
    await node.start()
    with pytest.raises(PublishRejectedError, match=reason):
        await node.publish(topic, message)
    assert await waku_messages.count(store) == 0
    await node.stop()


async def test_publish_requires_a_running_node(store: Store) -> None:
    node = EmbeddedNode(store)
    with pytest.raises(NodeError, match="not running"):
        await node.publish(TOPIC, msg("x"))


async def test_missing_timestamp_becomes_now_and_the_hash_covers_it(
    node: EmbeddedNode, clock: Clock
) -> None:
    inbox = Inbox()
    await node.subscribe([TOPIC], inbox)
    digest = await node.publish(TOPIC, msg("hello"))
    (received,) = await inbox.wait_for(1)
    assert received.message.timestamp == clock.now
    assert received.hash == digest == message_hash(TOPIC, received.message)


async def test_delivery_per_topic_duplicates_and_ephemeral(
    node: EmbeddedNode, store: Store
) -> None:
    inbox, other = Inbox(), Inbox()
    await node.subscribe([TOPIC], inbox)
    await node.subscribe([OTHER], other)
    first = msg("one", T0)
    assert await node.publish(TOPIC, first) == await node.publish(TOPIC, first)
    await node.publish(TOPIC, msg("fleeting", T0 + 1, ephemeral=True))
    await node.publish(OTHER, msg("elsewhere", T0 + 2))
    received = await inbox.wait_for(2)
    await other.wait_for(1)
    await node.publish(TOPIC, msg("last", T0 + 3))
    await inbox.wait_for(3)
    assert [r.message.payload for r in received] == [b"one", b"fleeting", b"last"]
    assert [r.message.payload for r in other.items] == [b"elsewhere"]
    # The ephemeral one is delivered but never archived.
    page = await node.query(HistoryQuery(pubsub_topic=TOPIC))
    assert [r.message.payload for r in page.messages] == [b"one", b"last"]
    assert await waku_messages.count(store) == 3


async def test_a_failing_handler_neither_stops_itself_nor_others(node: EmbeddedNode) -> None:
    calls = Inbox()

    async def flaky(received: ReceivedMessage) -> None:
        await calls(received)
        if received.message.payload == b"boom":
            raise RuntimeError("handler bug")

    steady = Inbox()
    await node.subscribe([TOPIC], flaky)
    await node.subscribe([TOPIC], steady)
    await node.publish(TOPIC, msg("boom", T0))
    await node.publish(TOPIC, msg("fine", T0 + 1))
    await steady.wait_for(2)
    assert [r.message.payload for r in await calls.wait_for(2)] == [b"boom", b"fine"]


async def test_unsubscribe_stops_delivery(node: EmbeddedNode) -> None:
    inbox = Inbox()
    await node.subscribe([TOPIC, OTHER], inbox)
    await node.unsubscribe([TOPIC])
    assert node.subscribed_topics() == {OTHER}
    await node.publish(TOPIC, msg("unheard", T0))
    await node.publish(OTHER, msg("heard", T0))
    (received,) = await inbox.wait_for(1)
    assert received.message.payload == b"heard"
    with pytest.raises(NodeError):
        await node.subscribe(["not-a-topic"], inbox)


async def test_messages_far_from_now_are_relayed_but_not_archived(node: EmbeddedNode) -> None:
    inbox = Inbox()
    await node.subscribe([TOPIC], inbox)
    await node.publish(TOPIC, msg("from the future", T0 + 60 * SEC))
    await node.publish(TOPIC, msg("ancient", T0 - 60 * SEC))
    await node.publish(TOPIC, msg("on time", T0 + 19 * SEC))
    await inbox.wait_for(3)
    page = await node.query(HistoryQuery())
    assert [r.message.payload for r in page.messages] == [b"on time"]


async def fill(node: EmbeddedNode, n: int) -> list[bytes]:
    """n messages, one per ns from T0, alternating two content topics and two shards."""
    hashes = []
    for i in range(n):
        ct = CT if i % 2 == 0 else "/parley/1/other/proto"
        hashes.append(await node.publish(TOPIC if i % 3 else OTHER, msg(f"m{i}", T0 + i, ct)))
    return hashes


async def test_store_pages_forward_and_backward_with_cursors(node: EmbeddedNode) -> None:
    hashes = await fill(node, 25)
    seen, cursor, pages = [], None, []
    while True:
        page = await node.query(HistoryQuery(page_size=10, cursor=cursor))
        pages.append(len(page.messages))
        seen += [r.hash for r in page.messages]
        assert page.hashes == [r.hash for r in page.messages]
        cursor = page.cursor
        if cursor is None:
            break
    assert pages == [10, 10, 5] and seen == hashes

    # Backwards: newest page first, each page itself in chronological order (nwaku does this).
    page = await node.query(HistoryQuery(page_size=10, ascending=False))
    assert [r.hash for r in page.messages] == hashes[15:25]
    assert page.cursor == hashes[15]
    page = await node.query(HistoryQuery(page_size=10, ascending=False, cursor=page.cursor))
    assert [r.hash for r in page.messages] == hashes[5:15]
    page = await node.query(HistoryQuery(page_size=10, ascending=False, cursor=page.cursor))
    assert [r.hash for r in page.messages] == hashes[0:5] and page.cursor is None


async def test_store_filters(node: EmbeddedNode) -> None:
    hashes = await fill(node, 12)
    by_time = await node.query(HistoryQuery(start_time=T0 + 3, end_time=T0 + 6))
    assert [r.hash for r in by_time.messages] == hashes[3:7]  # inclusive both ends
    by_topic = await node.query(HistoryQuery(pubsub_topic=OTHER))
    assert [r.hash for r in by_topic.messages] == [hashes[i] for i in (0, 3, 6, 9)]
    by_ct = await node.query(HistoryQuery(pubsub_topic=TOPIC, content_topics=[CT]))
    assert [r.hash for r in by_ct.messages] == [hashes[i] for i in (2, 4, 8, 10)]
    by_hash = await node.query(HistoryQuery(hashes=[hashes[7], hashes[1]]))
    assert [r.hash for r in by_hash.messages] == [hashes[1], hashes[7]]
    hashes_only = await node.query(HistoryQuery(include_data=False, page_size=3))
    assert hashes_only.messages == [] and hashes_only.hashes == hashes[:3]
    assert hashes_only.cursor == hashes[2]


async def test_store_page_size_defaults_and_caps(node: EmbeddedNode) -> None:
    hashes = await fill(node, 105)
    assert len((await node.query(HistoryQuery(page_size=0))).messages) == 20
    page = await node.query(HistoryQuery(page_size=1000))
    assert [r.hash for r in page.messages] == hashes[:100] and page.cursor == hashes[99]


async def test_store_rejects_bad_queries(node: EmbeddedNode) -> None:
    with pytest.raises(QueryRejectedError, match="content topics"):
        await node.query(HistoryQuery(content_topics=[f"/a/1/{i}/p" for i in range(11)]))
    with pytest.raises(QueryRejectedError, match="32 bytes"):
        await node.query(HistoryQuery(hashes=[b"short"]))
    with pytest.raises(QueryRejectedError, match="cursor"):
        await node.query(HistoryQuery(cursor=bytes(32)))
    with pytest.raises(NodeError, match="cursor not found"):
        await node.query(HistoryQuery(cursor=b"\x01" * 32))


async def test_retention_by_count_keeps_the_newest_arrivals(store: Store, clock: Clock) -> None:
    node = EmbeddedNode(store, clock=clock, retention_messages=3)
    await node.start()
    hashes = await fill(node, 7)
    assert await waku_messages.count(store) == 3
    assert (await node.query(HistoryQuery())).hashes == hashes[4:]
    await node.stop()
    # The bound holds across restarts with a smaller limit too.
    smaller = EmbeddedNode(store, clock=clock, retention_messages=2)
    await smaller.start()
    assert (await smaller.query(HistoryQuery())).hashes == hashes[5:]
    await smaller.stop()


async def test_retention_by_age(store: Store, clock: Clock) -> None:
    node = EmbeddedNode(store, clock=clock, retention_seconds=3600)
    await node.start()
    old = await node.publish(TOPIC, msg("old", T0))
    clock.now += 1800 * SEC
    new = await node.publish(TOPIC, msg("new", clock.now))
    assert await node.prune() == 0
    clock.now += 1801 * SEC
    assert await node.prune() == 1
    assert (await node.query(HistoryQuery())).hashes == [new]
    assert old != new
    await node.stop()


async def test_archive_survives_a_restart_and_dedupes_against_it(
    store: Store, clock: Clock
) -> None:
    node = EmbeddedNode(store, clock=clock)
    await node.start()
    digest = await node.publish(TOPIC, msg("persisted", T0))
    await node.stop()
    again = EmbeddedNode(store, clock=clock)
    await again.start()
    inbox = Inbox()
    await again.subscribe([TOPIC], inbox)
    assert await again.publish(TOPIC, msg("persisted", T0)) == digest
    await again.publish(TOPIC, msg("fresh", T0 + 1))
    (received,) = await inbox.wait_for(1)
    assert received.message.payload == b"fresh"  # the archived copy was not re-delivered
    assert (await again.query(HistoryQuery())).hashes[0] == digest
    await again.stop()


async def test_autosharding_maps_content_topics(store: Store) -> None:
    static = EmbeddedNode(store)
    with pytest.raises(PublishRejectedError, match="Autosharding is disabled"):
        static.shard_for(CT)
    auto = EmbeddedNode(store, cluster_id=1, num_shards=8)
    assert auto.shard_for(CT).startswith("/waku/2/rs/1/")
    with pytest.raises(PublishRejectedError, match="Autosharding error"):
        auto.shard_for("bad")


async def test_publishes_made_while_an_archive_write_is_in_flight_share_one(
    store: Store, clock: Clock
) -> None:
    # The bridge publishing into many rooms at once: one archive statement (one round trip)
    # instead of one each; every publish still returns once its message is on disk.
    node = EmbeddedNode(store, clock=clock)
    await node.start()
    inbox = Inbox()
    await node.subscribe([TOPIC], inbox)
    counters = await store.count()
    before = counters.copy()
    digests = await asyncio.gather(*(node.publish(TOPIC, msg(f"m{i}", T0 + i)) for i in range(30)))
    used = counters - before
    assert (used.statements, used.round_trips) == (1, 1)
    assert len(await inbox.wait_for(30)) == 30
    assert await waku_messages.count(store) == 30
    assert set((await node.query(HistoryQuery(page_size=100))).hashes) == set(digests)
    await node.stop()


async def test_archive_inserts_together_answer_each_row_and_survive_a_bad_one(
    store: Store,
) -> None:
    await waku_messages.insert(store, b"h" * 32, TOPIC, msg("old", T0), T0)
    await store.write(
        "CREATE TRIGGER refuse BEFORE INSERT ON waku_messages WHEN NEW.payload = X'626164'"
        " BEGIN SELECT RAISE(ABORT, 'refused'); END"
    )
    inserts = waku_messages.Inserts(store)
    results = await asyncio.gather(
        inserts.insert(b"a" * 32, TOPIC, msg("a", T0), T0),
        inserts.insert(b"h" * 32, TOPIC, msg("old again", T0), T0),  # already archived
        inserts.insert(b"b" * 32, TOPIC, msg("bad", T0), T0),
        inserts.insert(b"c" * 32, TOPIC, msg("c", T0), T0),
        inserts.insert(b"c" * 32, TOPIC, msg("c", T0), T0),  # the same row twice
        return_exceptions=True,
    )
    assert list(results[:2]) == [True, False] and list(results[3:]) == [True, False]
    assert isinstance(results[2], sqlite3.IntegrityError)
    assert await waku_messages.count(store) == 3
