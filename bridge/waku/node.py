"""The one interface the bridge uses to reach Waku, whichever node is behind it.

Two implementations: ``bridge.waku.embedded.EmbeddedNode`` (in-process, the default) and
``bridge.waku.rest_client.NwakuRestClient`` (a real nwaku over its REST API).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bridge.waku.message import WakuMessage

__all__ = [
    "HistoryPage",
    "HistoryQuery",
    "MessageHandler",
    "NodeError",
    "NodeHealth",
    "ReceivedMessage",
    "WakuNode",
]


class NodeError(RuntimeError):
    """The node refused or could not carry out a request (down, validation, timeout)."""


@dataclass(frozen=True, slots=True)
class ReceivedMessage:
    pubsub_topic: str
    message: WakuMessage
    hash: bytes  # message_hash(pubsub_topic, message)


MessageHandler = Callable[[ReceivedMessage], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class HistoryQuery:
    pubsub_topic: str | None = None
    content_topics: Sequence[str] = ()
    start_time: int | None = None  # ns, inclusive
    end_time: int | None = None  # ns, inclusive
    hashes: Sequence[bytes] = ()
    cursor: bytes | None = None
    page_size: int = 20
    ascending: bool = True
    include_data: bool = True


@dataclass(frozen=True, slots=True)
class HistoryPage:
    messages: list[ReceivedMessage]  # empty when the query had include_data=False
    cursor: bytes | None  # None: no further page
    # The page's message hashes in page order; the only result of include_data=False queries.
    hashes: list[bytes] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class NodeHealth:
    ready: bool
    detail: dict[str, str] = field(default_factory=dict)


class WakuNode(ABC):
    @abstractmethod
    async def start(self) -> None: ...

    @abstractmethod
    async def stop(self) -> None: ...

    @abstractmethod
    async def publish(self, pubsub_topic: str, message: WakuMessage) -> bytes:
        """Publish; returns the message hash. Raises NodeError when the node refuses."""

    @abstractmethod
    async def subscribe(self, pubsub_topics: Sequence[str], handler: MessageHandler) -> None:
        """Deliver every message later seen on these topics to ``handler`` (at least once;
        callers de-duplicate by ``ReceivedMessage.hash``)."""

    @abstractmethod
    async def unsubscribe(self, pubsub_topics: Sequence[str]) -> None: ...

    @abstractmethod
    async def query(self, query: HistoryQuery) -> HistoryPage: ...

    @abstractmethod
    async def health(self) -> NodeHealth: ...
