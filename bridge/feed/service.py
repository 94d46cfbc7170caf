"""Cross-posting to the public feed: ``/post``, auto-posting rooms, tombstones, anchoring.

A post becomes a signed record (``bridge.feed.record``), is stored (``bridge.store.feed``),
then published on the feed chat's Waku topic (``bridge.feed.publisher``). Optionally the record
is pinned to Kubo and anchored on-chain, each post or in batches (``bridge.feed.anchoring``).

Everything is on disk before it goes out: a publish or anchor that fails is retried by the
service's loop, and a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from bridge.commands import CommandReply, CommandRequest, UsageError
from bridge.feed.anchor import ChainAnchor
from bridge.feed.anchoring import MAX_BATCH, AnchorMode, FeedAnchorer
from bridge.feed.kubo import KuboClient, KuboError
from bridge.feed.publisher import FeedPublisher, new_record
from bridge.feed.record import MAX_TEXT_LENGTH, SignedRecord, sign_record
from bridge.formatting import to_plain
from bridge.model import Author, ChatRef, MessageId, NativeId
from bridge.notify import Notifier
from bridge.platform_index import PlatformIndex
from bridge.store import Store, messages
from bridge.store import feed as feed_rows
from bridge.store.messages import StoredMessage
from bridge.tasks import cancel_and_wait
from bridge.waku.node import NodeError, WakuNode
from crypto.keys import public_key, to_address

__all__ = [
    "MAX_BATCH",
    "AnchorMode",
    "AvatarInfo",
    "FeedError",
    "FeedService",
    "PostResult",
    "Profile",
    "ProfileLookup",
]

log = logging.getLogger(__name__)


class FeedError(Exception):
    """A post that cannot be made; the message is for the user."""


@dataclass(frozen=True, slots=True)
class AvatarInfo:
    url: str
    caip19: str | None = None
    verified: bool = False


@dataclass(frozen=True, slots=True)
class Profile:
    """What the bridge knows about a chat user beyond their name (all optional)."""

    wallet: str | None = None
    ens: str | None = None
    avatar: AvatarInfo | None = None


ProfileLookup = Callable[[Author], Awaitable[Profile]]
MessageLookup = Callable[[ChatRef, NativeId], Awaitable[StoredMessage | None]]


@dataclass(frozen=True, slots=True)
class PostResult:
    cid: str
    created: bool  # False: this message was posted before; ``cid`` is that post


class FeedService:
    """The feed's component: ``start`` launches the retry/batch loop; ``stop`` ends it."""

    name = "feed"

    def __init__(
        self,
        store: Store,
        node: WakuNode,
        identity_key: bytes,
        *,
        feed_chat: str,
        pubsub_topic: str,
        rooms: Callable[[ChatRef], str | None] = lambda _chat: None,
        auto_post_rooms: Iterable[str] = (),
        anchor_mode: AnchorMode = "none",
        batch_interval: float = 3600.0,
        chain: ChainAnchor | None = None,
        kubo: KuboClient | None = None,
        profile: ProfileLookup | None = None,
        lookup: MessageLookup | None = None,
        notifier: Notifier | None = None,
        public_url: str = "",
        retry_interval: float = 30.0,
        clock: Callable[[], float] = time.time,
        index: PlatformIndex | None = None,
    ) -> None:
        if anchor_mode != "none" and chain is None:
            raise ValueError(f"anchor mode {anchor_mode!r} needs a chain")
        self._store = store
        self._index = index if index is not None else PlatformIndex(())
        self._key = identity_key
        self.address = to_address(public_key(identity_key))
        self.feed_chat = feed_chat
        self.pubsub_topic = pubsub_topic
        self._room_of = rooms
        self._auto_rooms = frozenset(auto_post_rooms)
        self.anchor_mode = anchor_mode
        self._batch_interval = batch_interval
        self.chain = chain
        self._kubo = kubo
        self._profile = profile
        self._lookup = lookup if lookup is not None else self._lookup_in_store
        self._notifier = notifier
        self._public_url = public_url.rstrip("/")
        self._retry_interval = retry_interval
        self._clock = clock
        self._publisher = FeedPublisher(
            store,
            node,
            identity_key,
            feed_chat=feed_chat,
            pubsub_topic=pubsub_topic,
            address=self.address,
            clock=clock,
        )
        self._anchorer = (
            None
            if chain is None or anchor_mode == "none"
            else FeedAnchorer(
                store,
                chain,
                anchor_mode,
                self._publisher,
                identity_key,
                address=self.address,
                kubo=kubo,
                clock=clock,
            )
        )
        self._task: asyncio.Task[None] | None = None
        self._last_error: str | None = None

    # --- component ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="feed")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)
        if self.chain is not None:
            await self.chain.close()

    def health(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _loop(self) -> None:
        interval = self._retry_interval
        if self.anchor_mode == "batch":
            interval = min(interval, self._batch_interval)
        last_batch = self._clock()
        while True:
            await asyncio.sleep(interval)
            try:
                await self.republish_pending()
                if self.anchor_mode == "each":
                    await self.anchor_pending()
                elif (
                    self.anchor_mode == "batch"
                    and self._clock() - last_batch >= self._batch_interval
                ):
                    last_batch = self._clock()
                    await self.anchor_pending()
            except Exception:
                log.exception("feed retry loop failed; will try again")

    # --- the command --------------------------------------------------------------------

    async def handle_post(self, request: CommandRequest) -> CommandReply:
        """``/post`` (a reply to one's own message) or ``/post <text>``; on Discord also
        ``/post <message link or id>``."""
        text = request.raw_args.strip()
        reply_to = request.reply_to
        reference = (
            self._index.message_ref(request.chat.platform, text) if reply_to is None else None
        )
        if reference is not None:
            text, reply_to = "", reference
        try:
            if text:
                result = await self.post_text(request.author, request.chat, text)
            elif reply_to is not None:
                stored = await self._lookup(request.chat, reply_to)
                if stored is None:
                    return CommandReply(
                        "I can't find that message: only messages the bridge relayed (and "
                        "still remembers) can be posted.",
                        private=True,
                    )
                if (stored.author.platform, stored.author.user_id) != (
                    request.author.platform,
                    request.author.user_id,
                ):
                    return CommandReply(
                        "That is not your message: you can only post your own.", private=True
                    )
                if stored.deleted:
                    return CommandReply("That message was deleted.", private=True)
                result = await self.post_stored(stored)
            else:
                raise UsageError(
                    "Nothing to post: reply to your own message with /post, or write /post <text>."
                )
        except FeedError as exc:
            return CommandReply(str(exc), private=True)
        if not result.created:
            return CommandReply(f"Already on the feed: {self._link(result.cid)}", private=True)
        return CommandReply(f"Posted to the feed: {self._link(result.cid)}")

    def _link(self, cid: str) -> str:
        return f"{self._public_url}/feed#{cid}" if self._public_url else f"ipfs://{cid}"

    async def _lookup_in_store(self, chat: ChatRef, native_id: NativeId) -> StoredMessage | None:
        hit = await messages.lookup_native(self._store.db, chat, native_id)
        return None if hit is None else await messages.get(self._store.db, hit.message_id)

    # --- hooks for the router -----------------------------------------------------------

    async def on_new_message(self, stored: StoredMessage) -> None:
        """Call after the router recorded a NewMessage: auto-posts in configured rooms."""
        if stored.room not in self._auto_rooms or stored.author.is_bot or stored.deleted:
            return
        try:
            await self.post_stored(stored)
        except FeedError as exc:
            log.info("not auto-posting message %s: %s", stored.id, exc)
        except Exception:
            log.exception("auto-posting message %s failed", stored.id)

    async def on_deleted(self, message_id: MessageId) -> None:
        """Call after the router recorded a DeleteMessage of ``message_id``: if it was posted,
        publish a tombstone (readers then hide the post)."""
        post = await feed_rows.post_of_message(self._store.db, message_id)
        if post is None or post.tombstoned:
            return
        await self.tombstone(post.cid)

    # --- posting ------------------------------------------------------------------------

    async def post_stored(self, stored: StoredMessage) -> PostResult:
        existing = await feed_rows.post_of_message(self._store.db, stored.id)
        if existing is not None:
            return PostResult(existing.cid, created=False)
        text = to_plain(stored.text).strip()
        return await self._post(
            stored.author, stored.source, stored.room, text, stored.sent_at, stored.id
        )

    async def post_text(self, author: Author, chat: ChatRef, text: str) -> PostResult:
        return await self._post(
            author, chat, self._room_of(chat), text.strip(), datetime.now(UTC), None
        )

    async def _author(self, author: Author) -> dict[str, Any]:
        out: dict[str, Any] = {
            "platform": author.platform,
            "user_id": str(author.user_id),
            "name": (author.display_name or author.username or str(author.user_id))[:256],
        }
        if self._profile is None:
            return out
        try:
            profile = await self._profile(author)
        except Exception:
            log.exception("profile lookup failed; posting without wallet and avatar")
            return out
        if profile.wallet:
            out["wallet"] = profile.wallet
        if profile.ens:
            out["ens"] = profile.ens[:256]
        if profile.avatar is not None:
            avatar: dict[str, Any] = {
                "url": profile.avatar.url,
                "verified": profile.avatar.verified,
            }
            if profile.avatar.caip19:
                avatar["caip19"] = profile.avatar.caip19
            out["avatar"] = avatar
        return out

    async def _post(
        self,
        author: Author,
        chat: ChatRef,
        room: str | None,
        text: str,
        created: datetime,
        source_message_id: int | None,
    ) -> PostResult:
        if not text:
            raise FeedError("Nothing to post: the message has no text.")
        if len(text) > MAX_TEXT_LENGTH:
            raise FeedError(
                f"Too long for the feed: {len(text)} characters, at most {MAX_TEXT_LENGTH}."
            )
        record = new_record(
            "post",
            self.address,
            created,
            author=await self._author(author),
            text=text,
            source={"platform": chat.platform, "chat": str(chat.chat_id)},
        )
        if room is not None:
            record["room"] = room
        signed = sign_record(record, self._key)
        async with self._store.transaction() as db:
            if source_message_id is not None:
                existing = await feed_rows.post_of_message(db, source_message_id)
                if existing is not None:
                    return PostResult(existing.cid, created=False)
            await self._insert(db, signed, record, "post", source_message_id=source_message_id)
        await self._after_insert(signed)
        return PostResult(signed.cid, created=True)

    async def tombstone(self, target_cid: str) -> str:
        """Publish a tombstone for our post ``target_cid``; returns the tombstone's CID."""
        record = new_record(
            "tombstone",
            self.address,
            datetime.fromtimestamp(self._clock(), UTC),
            target=target_cid,
        )
        signed = sign_record(record, self._key)
        async with self._store.transaction() as db:
            target = await feed_rows.by_cid(db, target_cid)
            if target is None or target.kind != "post":
                raise FeedError("no such post")
            await feed_rows.mark_tombstoned(db, target_cid)
            await self._insert(db, signed, record, "tombstone", target_cid=target_cid)
        await self._after_insert(signed)
        return signed.cid

    async def _insert(
        self,
        db: aiosqlite.Connection,
        signed: SignedRecord,
        record: dict[str, Any],
        kind: str,
        *,
        source_message_id: int | None = None,
        target_cid: str | None = None,
    ) -> None:
        await feed_rows.insert(
            db,
            cid=signed.cid,
            entry_id=str(record["id"]),
            kind=kind,
            record=signed.data,
            signature=signed.signature,
            created_at=self._clock(),
            anchor_state="none" if self.anchor_mode == "none" else "pending",
            source_message_id=source_message_id,
            target_cid=target_cid,
        )

    async def _after_insert(self, signed: SignedRecord) -> None:
        try:
            await self._publisher.publish(signed)
        except (NodeError, OSError) as exc:
            self._last_error = str(exc)
            log.warning("feed entry %s not published yet (will retry): %s", signed.cid, exc)
        if self._kubo is not None:
            try:
                await self._kubo.add(signed.data, signed.cid)
            except KuboError as exc:
                log.warning("pinning %s to Kubo failed: %s", signed.cid, exc)
        if self.anchor_mode == "each":
            try:
                await self.anchor_pending()
            except Exception as exc:
                log.warning("anchoring %s failed (will retry): %s", signed.cid, exc)

    # --- publication and anchoring --------------------------------------------------------

    async def republish_pending(self) -> int:
        """Publish entries whose publication failed before; returns how many went out."""
        return await self._publisher.republish_pending()

    async def anchor_pending(self) -> int:
        """Anchor pending entries (``each``: one ``post`` per entry; ``batch``: one
        ``postBatch`` per up to MAX_BATCH entries). Returns how many were anchored."""
        return 0 if self._anchorer is None else await self._anchorer.anchor_pending()
