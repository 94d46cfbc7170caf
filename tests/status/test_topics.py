"""Status chat ids → content topics, PBKDF2 keys and shard topics (docs/PROTOCOL.md §10.1-2)."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.status import (
    DEFAULT_CLUSTER_ID,
    STATUS_PUBSUB_TOPICS,
    chat_key,
    chat_topic,
    community_id,
    legacy_channel_chat_id,
    universal_chat_id,
)
from bridge.waku.topics import parse_content_topic, parse_pubsub_topic
from tests.waku import vectors


@pytest.mark.parametrize("vid", vectors.ids("status.topics"))
def test_status_topic_vectors(js_waku_vectors: dict[str, Any], vid: str) -> None:
    e = vectors.entry(js_waku_vectors, "status.topics", vid)
    assert chat_topic(e["chat_id"]) == e["content_topic"]
    assert chat_key(e["chat_id"]).hex() == e["sym_key"]


def test_status_topic_is_a_valid_content_topic() -> None:
    assert chat_topic("status") == "/waku/1/0xcd423760/rfc26"
    assert parse_content_topic(chat_topic("status")).encoding == "rfc26"


def test_community_chat_ids_match_vectors(js_waku_vectors: dict[str, Any]) -> None:
    cid = community_id(bytes.fromhex(js_waku_vectors["keys"]["community_pub_compressed"]))
    topics = {e["id"]: e for e in js_waku_vectors["status"]["topics"]}
    assert cid == topics["community-description"]["chat_id"]
    assert universal_chat_id(cid) == topics["community-universal"]["chat_id"]
    legacy = topics["community-legacy-channel"]["chat_id"]
    assert legacy_channel_chat_id(cid, legacy[len(cid) :]) == legacy


def test_shards() -> None:
    parsed = [parse_pubsub_topic(t) for t in STATUS_PUBSUB_TOPICS]
    assert {p.cluster_id for p in parsed} == {DEFAULT_CLUSTER_ID} == {16}
    assert [p.shard for p in parsed] == [32, 64, 128, 256]


@pytest.mark.parametrize("bad", ["", "x" * 2000])
def test_chat_id_is_validated(bad: str) -> None:
    with pytest.raises(ValueError, match="chat id"):
        chat_topic(bad)
    with pytest.raises(ValueError, match="chat id"):
        chat_key(bad)


def test_community_id_requires_compressed_key() -> None:
    with pytest.raises(ValueError, match="compressed"):
        community_id(b"\x04" + bytes(64))
