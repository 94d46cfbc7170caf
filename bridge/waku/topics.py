"""Waku content topics, static-shard pubsub topics, and autosharding (docs/PROTOCOL.md §6).

Parsing follows nwaku (the stricter implementation): a content topic must start with '/', and
autosharding reduces only the last 8 bytes of the digest, as nwaku and js-waku both do.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

__all__ = [
    "MAX_CLUSTER_ID",
    "MAX_SHARD",
    "ContentTopic",
    "PubsubTopic",
    "TopicError",
    "autoshard",
    "parse_content_topic",
    "parse_pubsub_topic",
    "shard_for",
]

MAX_CLUSTER_ID = 65535
# Static sharding allows 1024 shards per cluster (ENR `rsv` bit vector is 128 bytes).
MAX_SHARD = 1023
# Not an implementation limit; only a bound on hostile input.
_MAX_TOPIC_LENGTH = 1024

_PUBSUB_PREFIX = "/waku/2/rs/"
# Canonical decimal only: topic strings are compared byte-for-byte by relays and subscriptions,
# so "/waku/2/rs/016/32" must not be accepted as a second spelling of "/waku/2/rs/16/32".
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,9}")


class TopicError(ValueError):
    """A content or pubsub topic that is malformed or out of range."""


@dataclass(frozen=True, slots=True)
class ContentTopic:
    """``/{application}/{version}/{name}/{encoding}``, optionally prefixed by generation 0."""

    application: str
    version: str
    name: str
    encoding: str
    generation: int | None = None

    def __str__(self) -> str:
        prefix = "" if self.generation is None else f"/{self.generation}"
        return f"{prefix}/{self.application}/{self.version}/{self.name}/{self.encoding}"


@dataclass(frozen=True, slots=True)
class PubsubTopic:
    """A static-sharding pubsub topic ``/waku/2/rs/<cluster_id>/<shard>``."""

    cluster_id: int
    shard: int

    def __post_init__(self) -> None:
        _check_cluster(self.cluster_id)
        if not 0 <= self.shard <= MAX_SHARD:
            raise TopicError(f"shard {self.shard} is out of range 0..{MAX_SHARD}")

    def __str__(self) -> str:
        return f"{_PUBSUB_PREFIX}{self.cluster_id}/{self.shard}"


def _check_cluster(cluster_id: int) -> None:
    if not 0 <= cluster_id <= MAX_CLUSTER_ID:
        raise TopicError(f"cluster id {cluster_id} is out of range 0..{MAX_CLUSTER_ID}")


def parse_content_topic(s: str) -> ContentTopic:
    """Parse a content topic the way nwaku does; raise TopicError if it would reject it."""
    if not isinstance(s, str):
        raise TopicError(f"content topic must be a string, got {type(s).__name__}")
    if len(s) > _MAX_TOPIC_LENGTH:
        raise TopicError(f"content topic is longer than {_MAX_TOPIC_LENGTH} characters")
    if not s.startswith("/"):
        raise TopicError(f"Content topic must start with '/': {s}")
    parts = s[1:].split("/")
    generation: int | None = None
    if len(parts) == 5:
        gen_text = parts.pop(0)
        if not gen_text:
            raise TopicError(f"Generation field cannot be empty: {s}")
        if not gen_text.isascii() or not gen_text.isdigit():
            raise TopicError(f"Generation must be a number: {s}")
        generation = int(gen_text)
        if generation > 0:
            raise TopicError(f"Generation greater than 0 is not supported: {s}")
    elif len(parts) != 4:
        raise TopicError(f"Content topic format is invalid: {s}")
    application, version, name, encoding = parts
    for label, value in (
        ("Application", application),
        ("Version", version),
        ("Topic name", name),
        ("Encoding", encoding),
    ):
        if not value:
            raise TopicError(f"{label} field cannot be empty: {s}")
    return ContentTopic(application, version, name, encoding, generation)


def parse_pubsub_topic(s: str) -> PubsubTopic:
    """Parse ``/waku/2/rs/<cluster>/<shard>`` (the only live form); raise TopicError otherwise."""
    if not isinstance(s, str):
        raise TopicError(f"pubsub topic must be a string, got {type(s).__name__}")
    if not s.startswith(_PUBSUB_PREFIX):
        raise TopicError(
            f"not a static-sharding pubsub topic (/waku/2/rs/<cluster>/<shard>): {s!r}"
        )
    parts = s[len(_PUBSUB_PREFIX) :].split("/")
    if len(parts) != 2 or not all(_DECIMAL.fullmatch(p) for p in parts):
        raise TopicError(f"malformed pubsub topic {s!r}: expected /waku/2/rs/<cluster>/<shard>")
    return PubsubTopic(int(parts[0]), int(parts[1]))


def shard_for(content_topic: str | ContentTopic, num_shards: int) -> int:
    """The autosharding shard index of a content topic in a network of ``num_shards`` shards."""
    if isinstance(num_shards, bool) or not 1 <= num_shards <= MAX_SHARD + 1:
        raise TopicError(f"num_shards {num_shards} is out of range 1..{MAX_SHARD + 1}")
    topic = (
        content_topic
        if isinstance(content_topic, ContentTopic)
        else parse_content_topic(content_topic)
    )
    digest = hashlib.sha256(topic.application.encode() + topic.version.encode()).digest()
    return int.from_bytes(digest[24:32], "big") % num_shards


def autoshard(content_topic: str | ContentTopic, cluster_id: int, num_shards: int) -> str:
    """The pubsub topic autosharding assigns to ``content_topic`` in ``cluster_id``."""
    _check_cluster(cluster_id)
    return str(PubsubTopic(cluster_id, shard_for(content_topic, num_shards)))
