"""Content topics, static-shard pubsub topics and autosharding (docs/PROTOCOL.md §6)."""

from __future__ import annotations

from typing import Any

import pytest

from bridge.waku.topics import (
    ContentTopic,
    PubsubTopic,
    TopicError,
    autoshard,
    parse_content_topic,
    parse_pubsub_topic,
    shard_for,
)
from tests.waku import vectors


@pytest.mark.parametrize("vid", vectors.ids("autoshard"))
def test_autoshard_vectors(js_waku_vectors: dict[str, Any], vid: str) -> None:
    e = vectors.entry(js_waku_vectors, "autoshard", vid)
    topic, cluster, n = e["content_topic"], e["cluster_id"], e["num_shards"]
    if e["expect"] == "ok":
        assert shard_for(topic, n) == e["shard"]
        assert autoshard(topic, cluster, n) == e["pubsub_topic"]
    elif e["expect"] == "error":
        with pytest.raises(TopicError):
            autoshard(topic, cluster, n)
    else:
        # "observe": js-waku accepts a topic nwaku rejects; we follow nwaku (docs/PROTOCOL.md §6.1).
        assert e["expect"] == "observe"
        assert not topic.startswith("/")
        with pytest.raises(TopicError, match="must start with '/'"):
            autoshard(topic, cluster, n)


def test_implementations_rule_not_full_digest() -> None:
    # docs/PROTOCOL.md §6.3: 5 shards -> 2 by the implementations, 4 by the spec's full digest.
    assert shard_for("/toy-chat/2/huilong/proto", 5) == 2


def test_only_application_and_version_route() -> None:
    a = shard_for("/app/7/one/proto", 1024)
    assert shard_for("/app/7/two/json", 1024) == a
    assert shard_for(ContentTopic("app", "7", "x", "y", generation=0), 1024) == a


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/toy-chat/2/huilong/proto", ContentTopic("toy-chat", "2", "huilong", "proto")),
        ("/0/app/1/name/rlp", ContentTopic("app", "1", "name", "rlp", generation=0)),
        ("/waku/1/0xcd423760/rfc26", ContentTopic("waku", "1", "0xcd423760", "rfc26")),
    ],
)
def test_parse_content_topic(text: str, expected: ContentTopic) -> None:
    parsed = parse_content_topic(text)
    assert parsed == expected
    assert str(parsed) == text


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "must start with '/'"),
        ("app/1/name/proto", "must start with '/'"),
        ("/", "format is invalid"),
        ("/app/1/name", "format is invalid"),
        ("/a/b/c/d/e/f", "format is invalid"),
        ("//1/name/proto", "Application"),
        ("/app//name/proto", "Version"),
        ("/app/1//proto", "Topic name"),
        ("/app/1/name/", "Encoding"),
        ("/1/app/1/name/proto", "Generation greater than 0"),
        ("/x/app/1/name/proto", "Generation must be a number"),
        ("/-0/app/1/name/proto", "Generation must be a number"),
        ("//app/1/name/proto", "Generation field cannot be empty"),
        ("/a/1/" + "n" * 2000 + "/p", "longer than"),
    ],
)
def test_parse_content_topic_rejects(text: str, reason: str) -> None:
    with pytest.raises(TopicError, match=reason):
        parse_content_topic(text)


def test_topic_error_is_value_error() -> None:
    assert issubclass(TopicError, ValueError)


@pytest.mark.parametrize(
    ("text", "cluster", "shard"),
    [
        ("/waku/2/rs/16/32", 16, 32),
        ("/waku/2/rs/0/0", 0, 0),
        ("/waku/2/rs/65535/1023", 65535, 1023),
    ],
)
def test_parse_pubsub_topic(text: str, cluster: int, shard: int) -> None:
    topic = parse_pubsub_topic(text)
    assert topic == PubsubTopic(cluster, shard)
    assert str(topic) == text


@pytest.mark.parametrize(
    "text",
    [
        "/waku/2/default-waku/proto",
        "/waku/2/rs/16",
        "/waku/2/rs/16/32/",
        "/waku/2/rs/65536/0",
        "/waku/2/rs/1/1024",
        "/waku/2/rs/-1/0",
        "/waku/2/rs/016/32",
        "/waku/2/rs/+1/2",
        "/waku/2/rs/1 /2",
        "/waku/2/rs/99999999999999999999/2",
        "/waku/2/rs/١/2",
        "waku/2/rs/1/2",
        "",
    ],
)
def test_parse_pubsub_topic_rejects(text: str) -> None:
    with pytest.raises(TopicError):
        parse_pubsub_topic(text)


def test_pubsub_topic_range_is_checked_on_construction() -> None:
    with pytest.raises(TopicError, match="shard"):
        PubsubTopic(1, 1024)
    with pytest.raises(TopicError, match="cluster"):
        PubsubTopic(70000, 0)


@pytest.mark.parametrize("n", [0, -1, 1025])
def test_num_shards_is_bounded(n: int) -> None:
    with pytest.raises(TopicError, match="num_shards"):
        shard_for("/app/1/a/b", n)


def test_autoshard_checks_cluster() -> None:
    with pytest.raises(TopicError, match="cluster"):
        autoshard("/app/1/a/b", 65536, 8)
