"""The Waku adapter's inbound side: every Waku message is hostile until proven otherwise.

A message must decrypt with the key of a room listening on its content topic, carry a Waku-level
signature (status-go drops unsigned ones), parse as a Status message that passes status-go's
receive rules (its author is the app-level signer, as in status-go), and name the room's chat
id; community rooms add status-go's community rules (``Communities.refuse_inbound``). Whatever
fails is counted in ``AdapterState.stats`` and dropped; nothing raises out of the handler. The
bridge's own publishes come back from the node and are dropped by signer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from datetime import UTC, datetime

from bots.waku.catch_up import CatchUp
from bots.waku.commands import WakuCommands
from bots.waku.rooms import AdapterState, Room, RoomDirectory
from bots.waku.status_format import (
    MAX_NAME,
    NS_PER_MS,
    NS_PER_S,
    PLACEHOLDERS,
    STATUS_ID,
    clean,
    emoji_for_reaction,
    http_url,
    truncate,
)
from bots.waku.text import from_status
from bridge.model import (
    Author,
    Command,
    DeleteMessage,
    EditMessage,
    Inbound,
    NativeId,
    NewMessage,
    Reaction,
    UserId,
)
from bridge.status import (
    MAX_CLOCK_DRIFT_MS,
    ChatMessageFields,
    DeleteMessageFields,
    EditMessageFields,
    EmojiReactionFields,
    StatusDecodeError,
    StatusEnvelope,
    parse_status_payload,
)
from bridge.status.names import valid_display_name
from bridge.store.parts import StoredParts
from bridge.waku.message import MAX_MESSAGE_SIZE
from bridge.waku.node import ReceivedMessage
from crypto.keys import to_address
from crypto.payload import Decoded, DecryptionError, decrypt_symmetric

__all__ = ["Receiver"]

# The adapter's log, as before its parts were split into modules.
log = logging.getLogger("bots.waku.adapter")

_KNOWN_NAMES = 1024
_SINK_RETRY_FIRST = 0.1
_SINK_RETRY_MAX = 2.0


class Receiver:
    """Turns the node's messages into the router's neutral events."""

    def __init__(
        self,
        state: AdapterState,
        directory: RoomDirectory,
        history: CatchUp,
        parts: StoredParts,
        commands: WakuCommands | None = None,
    ) -> None:
        self._state = state
        self._commands = commands
        self._directory = directory
        self._history = history
        self._names: OrderedDict[bytes, str] = OrderedDict()
        # The later parts of the bridge's long copies lead to the copy (its first part).
        self._parts = parts

    async def on_message(self, received: ReceivedMessage) -> None:
        """The node's handler for live messages."""
        if not self._state.running:
            return  # left for the next start's catch-up
        async with self._state.inbound_lock:
            await self.process(received)

    async def process(self, received: ReceivedMessage) -> None:
        """Handle one message from the node (live or history); never raises."""
        if received.hash in self._state.recent:
            self._state.count("repeated")
            return
        try:
            event = await self._decode(received)
            if event is not None and self._state.sink is not None:
                await self._deliver(event)
                self._state.count("command" if isinstance(event, Command) else "relayed")
        except Exception:
            # The sink failed (the store?) and the adapter is stopping: leave the message unseen
            # so the next start's catch-up retries it.
            self._state.count("failed")
            log.exception("waku message 0x%s could not be handled", received.hash.hex())
            return
        self._state.remember(received.hash)
        await self._history.advance_seen(received.message)

    async def _deliver(self, event: Inbound) -> None:
        """Hand ``event`` to the sink, waiting out its failures while the adapter runs: a
        catch-up only comes with a restart or a node outage, and later messages must not
        overtake this one (the inbound lock is held)."""
        assert self._state.sink is not None
        delay = _SINK_RETRY_FIRST
        while True:
            try:
                await self._state.sink(event)
                return
            except Exception as exc:
                if not self._state.running:
                    raise
                self._state.count("sink_retry")
                log.warning("the sink refused a Waku message (%s); retrying in %.1fs", exc, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _SINK_RETRY_MAX)

    def _drop(self, reason: str, received: ReceivedMessage) -> None:
        self._state.count(reason)
        log.debug("dropped waku message 0x%s: %s", received.hash.hex(), reason)

    async def _decode(self, received: ReceivedMessage) -> Inbound | None:
        message = received.message
        if self._state.communities is not None and message.content_topic in (
            self._state.communities.description_topics
        ):
            self._state.count(await self._state.communities.on_waku(message))
            return None
        listeners = self._directory.by_topic.get(message.content_topic)
        if not listeners:
            self._drop("unknown_topic", received)
            return None
        if message.version != 1 or len(message.payload) > MAX_MESSAGE_SIZE:
            self._drop("malformed", received)
            return None
        opened = self._open(message.payload, [key for _, key in listeners])
        if opened is None:
            self._drop("undecryptable", received)
            return None
        decoded, key_used = opened
        if decoded.signer is None:
            self._drop("unsigned", received)  # status-go drops these too
            return None
        if decoded.signer == self._state.public:
            self._state.count("own")  # our publish coming back
            return None
        # status-go's whisperTimestamp: the envelope's time in whole seconds, times 1000 (the
        # clock-drift rule is measured from there, not from the exact nanoseconds).
        waku_ms = (message.timestamp // NS_PER_S) * 1000 if message.timestamp else None
        try:
            envelope = parse_status_payload(decoded.payload, waku_ms)
        except StatusDecodeError as exc:
            self._drop("malformed", received)
            # Said at INFO: a person's message that never shows is worth a line (status-go
            # drops such messages as well, a text over 4096 characters among them).
            log.info(
                "Waku message 0x%s from 0x%s dropped: %s",
                received.hash.hex()[:16],
                decoded.signer.hex()[:16],
                exc,
            )
            return None
        # The author is the application-layer signer; status-go never compares it with the
        # Waku-layer one (another node may relay or republish a member's signed message).
        if envelope.signer == self._state.public:
            self._state.count("own")  # our own signed message, republished by someone else
            return None
        content = envelope.content
        if content is None:
            self._drop("unsupported", received)
            return None
        # Rooms sharing a topic are told apart by key (a private room never accepts messages
        # made with the public PBKDF2 key of its topic) and then by the chat id they name.
        room = next(
            (r for r, k in listeners if k == key_used and r.chat_id == content.chat_id),
            None,
        )
        if room is None:
            self._drop("other_chat", received)
            return None
        if self._state.communities is not None and room.config.community is not None:
            refused = self._state.communities.refuse_inbound(room.ref.chat_id, envelope)
            if refused is not None:
                self._drop(f"refused_{refused}", received)
                return None
        event = await self._to_event(room, envelope, content, waku_ms)
        if isinstance(event, str):
            self._drop(event, received)
            return None
        return event

    @staticmethod
    def _open(payload: bytes, keys: list[bytes]) -> tuple[Decoded, bytes] | None:
        """The payload decrypted with the first of ``keys`` that opens it, and that key."""
        for key in dict.fromkeys(keys):
            try:
                return decrypt_symmetric(payload, key), key
            except DecryptionError:
                continue
        return None

    async def _to_event(
        self,
        room: Room,
        envelope: StatusEnvelope,
        content: ChatMessageFields | EditMessageFields | DeleteMessageFields | EmojiReactionFields,
        waku_ms: int | None,
    ) -> Inbound | str:
        """The neutral event, or why there is none."""
        now_ms = self._state.clock() // NS_PER_MS
        signer = envelope.signer
        native_id = NativeId(envelope.message_id_hex)
        if isinstance(content, ChatMessageFields):
            # Lamport: our next message in this chat must sort after what we have seen, but a
            # forged far-future clock must not drag ours along. Half the drift status-go allows,
            # so that our own next clocks stay well inside what it accepts.
            if content.clock <= now_ms + MAX_CLOCK_DRIFT_MS // 2:
                room.last_clock = max(room.last_clock, content.clock)
            text = self._inbound_text(content)
            if text is None:
                return "no_text"
            reply = content.response_to if STATUS_ID.fullmatch(content.response_to) else None
            if reply is not None:
                reply = await self._whole(room, reply)
            author = self._author(signer, content)
            if self._commands is not None and content.bridge is None:
                command = await self._commands.take(room, native_id, author, text, reply)
                if command is not None:
                    return command
            return NewMessage(
                source=room.ref,
                native_id=native_id,
                author=author,
                text=from_status(text),
                timestamp=self._datetime(content.timestamp_ms, now_ms),
                reply_to=None if reply is None else NativeId(reply),
            )
        if isinstance(content, EmojiReactionFields):
            emoji = emoji_for_reaction(content.emoji)
            if emoji is None or not STATUS_ID.fullmatch(content.target_id):
                return "unsupported"
            return Reaction(
                source=room.ref,
                native_id=NativeId(await self._whole(room, content.target_id)),
                emoji=emoji,
                added=not content.retracted,
                author=self._author(signer, None),
            )
        target = await self._whole(room, content.target_id)
        if not await self._wrote(room, target, signer) and not (
            # status-go lets the community's owner, admins and token masters delete anyone's
            # message for everyone (handleDeleteMessage); edits stay the author's.
            isinstance(content, DeleteMessageFields) and await self._moderates(room, target, signer)
        ):
            return "not_author"
        if isinstance(content, EditMessageFields):
            return EditMessage(
                source=room.ref,
                native_id=NativeId(target),
                text=from_status(content.text),
                timestamp=self._datetime(waku_ms or now_ms, now_ms),
            )
        return DeleteMessage(source=room.ref, native_id=NativeId(target))

    async def _whole(self, room: Room, target_id: str) -> str:
        """The message ``target_id`` is part of: a reply or reaction to any part of the
        bridge's long copy is to the whole relayed message (the router knows its first part)."""
        if not STATUS_ID.fullmatch(target_id):
            return target_id
        return await self._parts.owner(room.ref.chat_id, target_id) or target_id

    @staticmethod
    def _inbound_text(content: ChatMessageFields) -> str | None:
        if content.bridge is not None:
            text = content.bridge.content
        else:
            text = content.text or PLACEHOLDERS.get(content.content_type, "")
        # A BridgeMessage's content is not bounded by Status; ours is the same as its text's.
        text = truncate(text)
        return text if text.strip() else None

    async def _wrote(self, room: Room, target_id: str, signer: bytes) -> bool:
        """Did ``signer`` write ``target_id`` in this room? Status applies an edit or a delete
        only from the author; anyone else's must not reach the platforms either."""
        if not STATUS_ID.fullmatch(target_id):
            return False
        author = await self._state.origins.author_of(room.ref, NativeId(target_id))
        return author == "0x" + signer.hex()

    async def _moderates(self, room: Room, target_id: str, signer: bytes) -> bool:
        """May ``signer`` delete ``target_id`` (a Status member's message relayed from this
        community room) for everyone, per the newest verified description?"""
        if self._state.communities is None or room.config.community is None:
            return False
        if not self._state.communities.may_delete_any(room.ref.chat_id, signer):
            return False
        if not STATUS_ID.fullmatch(target_id):
            return False
        # Only messages that came from Status: a moderator's delete of the bridge's own copy
        # of a Telegram or Discord message does not delete the original there.
        return await self._state.origins.author_of(room.ref, NativeId(target_id)) is not None

    def _author(self, signer: bytes, content: ChatMessageFields | None) -> Author:
        address = to_address(signer)
        name = ""
        avatar = None
        if content is not None:
            # A name status-go refuses (ValidateDisplayName) is never shown. Community rooms
            # drop such messages as status-go does (Communities.refuse_inbound); a raw Waku
            # chat has no Status client whose view to mirror, so the message is relayed under
            # the signer's address instead.
            if valid_display_name(content.display_name):
                name = clean(content.display_name, MAX_NAME)
            user = clean(content.bridge.user_name, MAX_NAME) if content.bridge else ""
            if content.bridge is not None and user:
                # Another bridge's message: its original author, where it came from, and the
                # Status display name of the bridge that posted it.
                via = clean(content.bridge.bridge_name, MAX_NAME)
                label = f"{via} via {name}" if via and name else via or name
                name = f"{user} ({label})" if label else user
                avatar = http_url(content.bridge.user_avatar) or None
            if name:
                # Reactions carry no name; show the one this key last used.
                self._names[signer] = name
                self._names.move_to_end(signer)
                if len(self._names) > _KNOWN_NAMES:
                    self._names.popitem(last=False)
        if not name:
            name = self._names.get(signer) or f"{address[:6]}…{address[-4:]}"
        return Author(
            platform="waku",
            user_id=UserId("0x" + signer.hex()),
            display_name=name,
            username=address,
            avatar_url=avatar,
        )

    @staticmethod
    def _datetime(ms: int, now_ms: int) -> datetime:
        # Sender-chosen: clamp it so a hostile value cannot overflow datetime or sort into
        # the future.
        return datetime.fromtimestamp(max(0, min(ms, now_ms)) / 1000, UTC)
