"""Scalable Data Sync (SDS) wrapping of public community payloads, as newer status-go does it.

status-go's messaging layer (``pkg/messaging/layers/sender`` ``SendPublic`` and
``layers/reliability``, after the c72f491 snapshot) wraps the signed ApplicationMetadataMessage
of every public community message in nim-sds's ``SdsMessage`` before the ProtocolMessage
(``public_message``) layer, or as the whole Waku payload for messages sent without that layer
(community descriptions). The SDS channel id is the community id (``reliability.BuildChannelID``)
and the message id is ``"0x" + hex(keccak256(payload))``. Receivers unwrap when they can and
otherwise use the payload as it is ("wrapping is not mandatory"), which is what ``unwrap`` does.

The bridge keeps a small causal history per channel (the ids it last sent and saw) so that
SDS receivers can order its messages; it does not ask for repairs of what it misses (the Waku
store catch-up already covers that).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from bridge.proto import sds_message_pb2 as pb
from crypto.keccak import keccak256

__all__ = ["SdsChannel", "SdsInfo", "sds_message_id", "unwrap", "wrap"]

# nim-sds DefaultMaxCausalHistory
MAX_CAUSAL_HISTORY = 10
_MAX_ID = 256
_MAX_HISTORY_IN = 100


@dataclass(frozen=True, slots=True)
class SdsInfo:
    message_id: str
    channel_id: str
    lamport_timestamp: int
    causal_history: tuple[str, ...]


def sds_message_id(payload: bytes) -> str:
    return "0x" + keccak256(payload).hex()


def wrap(
    payload: bytes, channel_id: str, lamport_timestamp: int, history: tuple[str, ...] = ()
) -> bytes:
    """An encoded SdsMessage carrying ``payload`` (nim-sds field numbers)."""
    message = pb.SdsMessage(
        message_id=sds_message_id(payload),
        lamport_timestamp=lamport_timestamp,
        causal_history=[pb.HistoryEntry(message_id=m) for m in history[-MAX_CAUSAL_HISTORY:]],
        channel_id=channel_id,
        content=payload,
    )
    return message.SerializeToString()


def _parse(data: bytes) -> pb.SdsMessage | pb.LegacySdsMessage | None:
    """The SdsMessage in ``data``: causal history as HistoryEntry messages (nim-sds now), else
    as bare ids (the older form nim-sds's decode still falls back to)."""
    message: pb.SdsMessage | pb.LegacySdsMessage
    for message in (pb.SdsMessage(), pb.LegacySdsMessage()):
        try:
            message.ParseFromString(data)
        except DecodeError:
            continue
        # An SdsMessage re-encodes to the same bytes; other messages that happen to parse
        # (fields of other types become unknown fields) do not.
        if message.SerializeToString() == data:
            return message
    return None


def unwrap(data: bytes) -> tuple[bytes, SdsInfo | None]:
    """``(content, info)`` for an SdsMessage, else ``(data, None)``.

    nim-sds requires message id, timestamp, channel id and content; anything lacking them is
    not SDS and passes through unchanged, as in status-go.
    """
    message = _parse(data)
    if (
        message is None
        or not message.message_id
        or not message.channel_id
        or not message.content
        or len(message.message_id) > _MAX_ID
        or len(message.channel_id) > _MAX_ID
        or len(message.causal_history) > _MAX_HISTORY_IN
    ):
        return data, None
    history = tuple(
        entry if isinstance(entry, str) else entry.message_id for entry in message.causal_history
    )
    info = SdsInfo(
        message_id=message.message_id,
        channel_id=message.channel_id,
        lamport_timestamp=message.lamport_timestamp,
        causal_history=history,
    )
    return message.content, info


class SdsChannel:
    """The bridge's SDS state for one channel id: a Lamport clock and recent message ids."""

    def __init__(self, channel_id: str) -> None:
        self.channel_id = channel_id
        self.lamport = 0
        self._recent: OrderedDict[str, None] = OrderedDict()

    def seen(self, info: SdsInfo) -> None:
        if info.channel_id != self.channel_id:
            return
        # nim-sds updateLamportTimestamp: max(received, own) + 1, bounded against a hostile jump.
        if info.lamport_timestamp < 2**62:
            self.lamport = max(self.lamport, info.lamport_timestamp) + 1
        self._remember(info.message_id)

    def wrap(self, payload: bytes, now_s: int) -> bytes:
        # nim-sds wrapOutgoingMessage: updateLamportTimestamp(getTime().toUnix) = max(now in
        # seconds, own) + 1.
        self.lamport = max(self.lamport, now_s) + 1
        wrapped = wrap(payload, self.channel_id, self.lamport, tuple(self._recent))
        self._remember(sds_message_id(payload))
        return wrapped

    def _remember(self, message_id: str) -> None:
        self._recent[message_id] = None
        self._recent.move_to_end(message_id)
        while len(self._recent) > MAX_CAUSAL_HISTORY:
            self._recent.popitem(last=False)
