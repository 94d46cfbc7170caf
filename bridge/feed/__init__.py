"""The public feed: cross-posting (``/post``, auto-posting rooms), signed records on a Waku
topic that anyone can read, optional Kubo pinning and on-chain anchors, tombstones, readers.

``install_feed`` (in ``bridge.feed.feature``) is the one call ``wire_features`` makes. The
names below load on first use, so that ``parley --help`` (which imports ``bridge.feed.cli``)
stays fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.feed.entry import Anchor, AnchorEvent, Entry, fold, verify_entry
    from bridge.feed.feature import POST_SPEC, FeedFeature, feed_pubsub_topic, install_feed
    from bridge.feed.record import cid_v1_raw, parse_wire
    from bridge.feed.service import AvatarInfo, FeedService, Profile

__all__ = [
    "POST_SPEC",
    "Anchor",
    "AnchorEvent",
    "AvatarInfo",
    "Entry",
    "FeedFeature",
    "FeedService",
    "Profile",
    "cid_v1_raw",
    "feed_pubsub_topic",
    "fold",
    "install_feed",
    "parse_wire",
    "verify_entry",
]

_WHERE = {
    "Anchor": "entry",
    "AnchorEvent": "entry",
    "Entry": "entry",
    "fold": "entry",
    "verify_entry": "entry",
    "POST_SPEC": "feature",
    "FeedFeature": "feature",
    "feed_pubsub_topic": "feature",
    "install_feed": "feature",
    "cid_v1_raw": "record",
    "parse_wire": "record",
    "AvatarInfo": "service",
    "FeedService": "service",
    "Profile": "service",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'bridge.feed' has no attribute {name!r}")
    return getattr(importlib.import_module(f"bridge.feed.{module}"), name)
