"""The Waku adapter's outbound side: every relayed message becomes a Status ``ChatMessage``
with content type ``BRIDGE_MESSAGE`` (the remote author's name, avatar and id ride in
``BridgeMessage``), signed twice with the bridge's identity key (Status app layer and Waku
payload), AES-256-GCM encrypted with the room key and published on the room's content topic(s)
(docs/PROTOCOL.md §10). Edits, deletes and reactions are Status's own ``EditMessage`` /
``DeleteMessage`` / ``EmojiReaction``. In community rooms the bridge posts only while the newest
CommunityDescription lets its key post in the channel, SDS-wrapped on the universal topic and
plain on the channel's own topic.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

from bots.waku.catch_up import CatchUp
from bots.waku.envelopes import Envelopes, Record
from bots.waku.rooms import AdapterState, Room, RoomDirectory
from bots.waku.status_format import (
    EMPTY,
    MAX_NAME,
    STATUS_ID,
    attachment_line,
    bounded_id,
    clean,
    http_url,
    reaction_for_emoji,
    truncate,
)
from bots.waku.text import MAX_TEXT_LENGTH, escape_status, split_for_status
from bridge.model import (
    Attachment,
    Author,
    NativeId,
    OutboundDelete,
    OutboundEdit,
    OutboundMessage,
    OutboundReaction,
    PermanentError,
    RetryableError,
    RichText,
)
from bridge.status import (
    AppMessageType,
    BridgeMessageFields,
    ContentType,
    build_bridge_chat_message,
    build_delete_message,
    build_edit_message,
    build_emoji_reaction,
)
from bridge.store.parts import StoredParts

__all__ = ["Publisher", "bridge_message_id"]

# The adapter's log, as before its parts were split into modules.
log = logging.getLogger("bots.waku.adapter")

# Relays drop WakuMessages over 150 KiB; staying far below leaves room for other encoders'
# overhead. Field bounds keep a bridged message under ~40 KiB, so this only guards mistakes.
_MAX_PUBLISH_SIZE = 100 * 1024


_MAX_PARTS = 16
"""Status messages one relayed message may become (16 x 4096 characters is far more than any
platform sends as one message); the rest is cut off with a notice."""
_MEMORY = 1024
"""Deliveries whose finished parts are remembered in memory while their last parts retry."""
_SENDING = "sending:"
"""``relay_parts`` key prefix of a multi-part send's progress, under its BridgeMessage id."""


def bridge_message_id(delivery: OutboundMessage) -> str:
    """``BridgeMessage.messageID`` of a delivery: stable across attempts and restarts."""
    source = delivery.source
    return bounded_id(f"{source.platform}:{source.chat_id}:{delivery.idempotency_key}")


def _part_id(first: str, index: int) -> str:
    """``BridgeMessage.messageID`` of a later part: the first part's, numbered."""
    return first if index == 0 else bounded_id(f"{first}#{index + 1}")


@dataclass
class _Progress:
    """A multi-part send so far: each part's Status id, clock and timestamp (ms), recorded
    durably before the part is published. Rebuilt from the same clock and timestamp, a part is
    the same signed message with the same Status id (RFC 6979 signatures), and status-go skips
    a message id it already has (protocol/messenger.go handleRetrievedMessages, "Don't process
    duplicates": messageExists): publishing the last recorded part again is harmless, so a
    resumed send repeats it and never posts a part twice or leaves one out."""

    parts: list[tuple[str, int, int]] = field(default_factory=list)
    done: bool = False

    def layout(self) -> dict[str, object]:
        return {"parts": [list(p) for p in self.parts], "done": self.done}

    @classmethod
    def of(cls, layout: object) -> _Progress | None:
        if not isinstance(layout, dict) or not isinstance(layout.get("parts"), list):
            return None
        parts: list[tuple[str, int, int]] = []
        for part in layout["parts"]:
            if not (
                isinstance(part, list)
                and len(part) == 3
                and isinstance(part[0], str)
                and STATUS_ID.fullmatch(part[0])
                and all(isinstance(n, int) and n > 0 for n in part[1:])
            ):
                return None
            parts.append((part[0], part[1], part[2]))
        return cls(parts, layout.get("done") is True) if parts else None


class Publisher:
    """Builds, signs and publishes the bridge's Status messages, and finds in-doubt ones."""

    def __init__(
        self,
        state: AdapterState,
        directory: RoomDirectory,
        history: CatchUp,
        *,
        parts: StoredParts,
        bridge_name: str,
        installation_id: str,
    ) -> None:
        self._state = state
        self._directory = directory
        self._history = history
        self._bridge_name = bridge_name
        self._out = Envelopes(state, history, installation_id)
        # A copy in several Status messages: their ids under the first one's (relay_parts), so
        # that edits and deletes reach every part, after a restart too.
        self._parts = parts
        # BridgeMessage.messageID -> the parts an unfinished send recorded (also in the store).
        self._sending: OrderedDict[str, _Progress] = OrderedDict()

    @staticmethod
    def _contents(text: RichText, attachments: Sequence[Attachment] = ()) -> list[str]:
        """The text as Status markdown, in parts that status-go accepts (bots/waku/text.py),
        then one line per attachment."""
        parts = split_for_status(text, MAX_TEXT_LENGTH)
        for attachment in attachments:
            line = truncate(escape_status(attachment_line(attachment)))
            if parts and len(parts[-1]) + 1 + len(line) <= MAX_TEXT_LENGTH:
                parts[-1] += "\n" + line
            else:
                parts.append(line)
        if len(parts) > _MAX_PARTS:
            last = parts[_MAX_PARTS - 1]
            # The last part kept ends with the truncation notice (one character less: cut).
            parts = [*parts[: _MAX_PARTS - 1], truncate(last, len(last) - 1)]
        return parts or [EMPTY]

    async def _layout(self, chat: str, first: str) -> list[str]:
        """Every part of our copy ``first`` (just ``first`` when it is one message)."""
        try:
            known = await self._parts.get(chat, first)
        except Exception:
            log.exception("Waku: could not read the parts of %s", first)
            known = None
        if isinstance(known, list) and all(isinstance(i, str) for i in known) and known:
            return [self._target(i) for i in known]
        return [first]

    @staticmethod
    def _user_name(author: Author) -> str:
        return (
            clean(author.display_name, MAX_NAME)
            or clean(author.username or "", MAX_NAME)
            or clean(author.user_id, MAX_NAME)
            or "unknown"
        )

    @staticmethod
    def _target(native_id: str) -> str:
        if not STATUS_ID.fullmatch(native_id):
            raise PermanentError(f"{native_id!r} is not a Status message id")
        return native_id

    async def send(self, delivery: OutboundMessage) -> NativeId:
        """Post the copy; text longer than Status takes goes out in several messages, like
        Telegram's and Discord's. The first one is the copy's id (replies, reactions). Each
        part is recorded before it is published (``_Progress``): a retry, after a refused
        publish or a crash, skips the parts known to be out and repeats the one in doubt."""
        room = await self._directory.room(delivery.target)
        first = bridge_message_id(delivery)
        reply_to = delivery.reply_to or ""
        response_to = reply_to if STATUS_ID.fullmatch(reply_to) else ""
        contents = self._contents(delivery.text, delivery.attachments)
        progress = self._sending.get(first)
        if len(contents) == 1 and progress is None:
            # One message: no progress to record (recover finds it in the node's store).
            return NativeId(
                await self._post(
                    room,
                    delivery.source.platform,
                    delivery.author,
                    contents[0],
                    first,
                    response_to,
                )
            )
        if progress is None:
            progress = await self._progress(room, first) or _Progress()
        if not progress.done:
            await self._send_parts(room, delivery, first, response_to, contents, progress)
        self._sending.pop(first, None)
        return NativeId(progress.parts[0][0])

    async def _send_parts(
        self,
        room: Room,
        delivery: OutboundMessage,
        first: str,
        response_to: str,
        contents: list[str],
        progress: _Progress,
    ) -> None:
        chat = room.ref.chat_id

        async def record(status_id: str, clock: int, timestamp_ms: int) -> None:
            attempt = _Progress([*progress.parts, (status_id, clock, timestamp_ms)])
            try:
                await self._parts.put(chat, _SENDING + first, attempt.layout())
            except Exception as exc:
                # Unrecorded, a part must not go out: after a crash it would go out twice.
                raise RetryableError(f"cannot record the part of {first}: {exc}") from exc
            progress.parts = attempt.parts
            self._sending[first] = progress
            self._sending.move_to_end(first)
            while len(self._sending) > _MEMORY:
                self._sending.popitem(last=False)

        # Every part recorded before the last one was published before it was recorded.
        for index in range(max(0, len(progress.parts) - 1), len(contents)):
            recorded = progress.parts[index] if index < len(progress.parts) else None
            await self._post(
                room,
                delivery.source.platform,
                delivery.author,
                contents[index],
                _part_id(first, index),
                response_to if index == 0 else "",
                replay=None if recorded is None else recorded[1:],
                record=None if recorded is not None else record,
            )
        ids = [part[0] for part in progress.parts]
        await self._remember(room, ids)
        progress.done = True
        try:
            await self._parts.put(chat, _SENDING + first, progress.layout())
        except Exception:
            # Not fatal: a recovery then repeats the last part, which Status already has.
            log.exception("Waku: could not record that %s went out", first)

    async def _progress(self, room: Room, first: str) -> _Progress | None:
        try:
            return _Progress.of(await self._parts.get(room.ref.chat_id, _SENDING + first))
        except Exception as exc:
            raise RetryableError(f"cannot read the progress of {first}: {exc}") from exc

    async def _remember(self, room: Room, ids: list[str]) -> None:
        try:
            await self._parts.put(room.ref.chat_id, ids[0], ids, ids[1:])
        except Exception:
            log.exception("Waku: could not record the parts of %s", ids[0])

    async def _post(
        self,
        room: Room,
        platform: str,
        author: Author,
        content: str,
        message_id: str,
        response_to: str,
        *,
        replay: tuple[int, int] | None = None,
        record: Record | None = None,
    ) -> str:
        bridge = BridgeMessageFields(
            bridge_name=clean(platform, MAX_NAME),
            user_name=self._user_name(author),
            content=content,
            user_avatar=http_url(author.avatar_url),
            user_id=bounded_id(author.user_id),
            message_id=message_id,
        )

        def build(clock: int, now_ms: int) -> bytes:
            return build_bridge_chat_message(
                chat_id=room.chat_id,
                bridge=bridge,
                clock=clock,
                timestamp_ms=now_ms,
                chat_type=room.config.chat_type,
                response_to=response_to,
                display_name=self._bridge_name,
            )

        return await self._out.publish(
            room, AppMessageType.CHAT_MESSAGE, build, replay=replay, record=record
        )

    async def notice(
        self, room: Room, author: Author, text: str, message_id: str, reply_to: str
    ) -> None:
        """Post the bridge's own plain ``text`` in ``room`` (a command's answer), as a reply to
        ``reply_to``; not durable: it raises what ``_publish`` raises."""
        for index, content in enumerate(self._contents(RichText.plain(text))):
            await self._post(
                room,
                self._bridge_name,
                author,
                content,
                _part_id(message_id, index),
                reply_to if index == 0 else "",
            )

    async def edit(self, delivery: OutboundEdit) -> None:
        """Rewrite every part of the copy: parts the new text no longer needs are deleted, and
        parts it needs more of are posted after the others."""
        room = await self._directory.room(delivery.target)
        layout = await self._layout(room.ref.chat_id, self._target(delivery.native_id))
        contents = self._contents(delivery.text)
        for target, content in zip(layout, contents, strict=False):
            await self._edit_one(room, target, content)
        if len(contents) == len(layout):
            return
        ids = layout[: len(contents)]
        for index in range(len(layout), len(contents)):
            ids.append(
                await self._post(
                    room,
                    delivery.source.platform,
                    delivery.author,
                    contents[index],
                    _part_id(bounded_id(f"edit:{layout[0]}"), index),
                    "",
                )
            )
            await self._remember(room, ids)
        for extra in layout[len(contents) :]:
            await self._delete_one(room, extra)
        await self._remember(room, ids)

    async def _edit_one(self, room: Room, target: str, text: str) -> None:
        def build(clock: int, now_ms: int) -> bytes:
            # A BRIDGE_MESSAGE edit replaces BridgeMessage.content: our copies are all bridged.
            return build_edit_message(
                chat_id=room.chat_id,
                target_id=target,
                text=text,
                clock=clock,
                chat_type=room.config.chat_type,
                content_type=ContentType.BRIDGE_MESSAGE,
            )

        await self._out.publish(room, AppMessageType.EDIT_MESSAGE, build)

    async def delete(self, delivery: OutboundDelete) -> None:
        room = await self._directory.room(delivery.target)
        first = self._target(delivery.native_id)
        for target in await self._layout(room.ref.chat_id, first):
            await self._delete_one(room, target)
        try:
            await self._parts.forget(room.ref.chat_id, first)
        except Exception:
            log.exception("Waku: could not forget the parts of %s", first)

    async def _delete_one(self, room: Room, target: str) -> None:
        def build(clock: int, now_ms: int) -> bytes:
            return build_delete_message(
                chat_id=room.chat_id,
                target_id=target,
                clock=clock,
                chat_type=room.config.chat_type,
            )

        await self._out.publish(room, AppMessageType.DELETE_MESSAGE, build)

    async def react(self, delivery: OutboundReaction) -> None:
        room = await self._directory.room(delivery.target)
        target = self._target(delivery.native_id)
        reaction = reaction_for_emoji(delivery.emoji)
        if reaction is None:
            return  # Status has no such reaction; nothing to show there

        def build(clock: int, now_ms: int) -> bytes:
            return build_emoji_reaction(
                chat_id=room.chat_id,
                target_id=target,
                emoji=reaction,
                clock=clock,
                chat_type=room.config.chat_type,
                retracted=not delivery.added,
            )

        await self._out.publish(room, AppMessageType.EMOJI_REACTION, build)

    async def recover(self, delivery: OutboundMessage) -> NativeId | None:
        """Find our copy of ``delivery``: a multi-part send by its recorded progress (none while
        a part may be missing: ``send`` then finishes it), one message in the node's history by
        its BridgeMessage.messageID."""
        room = await self._directory.room(delivery.target)
        wanted = bridge_message_id(delivery)
        progress = await self._progress(room, wanted)
        if progress is not None:
            if progress.done:
                return NativeId(progress.parts[0][0])
            self._sending[wanted] = progress
            return None
        found = await self._out.find(room, delivery.sent_at, wanted)
        return None if found is None else NativeId(found)
