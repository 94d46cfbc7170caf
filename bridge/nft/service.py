"""Verified NFT avatars: set one (ownership by a linked wallet, metadata, image), clear it,
re-check it, and show it (``avatar_url_for``, ``enrich``).

Setting an avatar runs the pure pieces in order: ``check_ownership`` against each of the
user's linked wallets (one block per check), ``load_metadata`` for the token URI, ``resolve_uri``
and the SSRF-safe ``fetch`` for the image, ``normalise_avatar`` to a fixed-size PNG. Only that
PNG is stored (by content hash) and served. Every refusal is an :class:`AvatarError` whose text
is shown to the user as it is.

Re-checks: :meth:`AvatarService.recheck_due` re-verifies avatars older than ``recheck_hours``
(driven by :class:`AvatarRechecker`), :meth:`AvatarService.recheck_user` one user on demand.
An NFT no linked wallet holds any more is removed and its owner told why; a chain that cannot
be asked changes nothing (an outage proves nothing about ownership).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bridge.model import Author, Platform, UserId
from bridge.nft.image import ImageError, normalise_avatar
from bridge.nft.metadata import MetadataError, load_metadata
from bridge.nft.ownership import Ownership, OwnershipError, caip19, check_ownership, parse_caip19
from bridge.nft.safe_fetch import DEFAULT_POLICY, FetchError, FetchPolicy, fetch
from bridge.nft.uri import Inline, UriError, resolve_uri
from bridge.notify import Notifier
from bridge.store import Store, links
from bridge.store import avatars as avatar_store
from bridge.tasks import cancel_and_wait

if TYPE_CHECKING:
    from web3 import AsyncWeb3

__all__ = [
    "CHAIN_NAMES",
    "AvatarError",
    "AvatarRechecker",
    "AvatarService",
    "RecheckOutcome",
    "W3Provider",
    "parse_chain",
]

log = logging.getLogger(__name__)

W3Provider = Callable[[], Awaitable["AsyncWeb3[Any] | None"]]
"""Returns the AsyncWeb3 for the configured chain (made lazily), or None without an RPC."""

CHAIN_NAMES: dict[str, int] = {
    "ethereum": 1,
    "mainnet": 1,
    "eth": 1,
    "optimism": 10,
    "bsc": 56,
    "gnosis": 100,
    "polygon": 137,
    "base": 8453,
    "arbitrum": 42161,
    "sepolia": 11155111,
    "holesky": 17000,
    "anvil": 31337,
    "localhost": 31337,
}
_IMAGE_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp", "application/octet-stream"}
)
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_HASH = re.compile(r"[0-9a-f]{64}")


class AvatarError(Exception):
    """An avatar cannot be set; the message is for the user."""


@dataclass(frozen=True)
class RecheckOutcome:
    kept: int
    removed: int
    unknown: int  # the chain could not be asked; left as they were


def parse_chain(value: str) -> int:
    """A chain name (``ethereum``, ``base`` ...) or a decimal chain id; raises AvatarError."""
    text = value.strip().lower()
    if text in CHAIN_NAMES:
        return CHAIN_NAMES[text]
    if text.isdigit() and 0 < len(text) <= 20 and int(text) > 0:
        return int(text)
    raise AvatarError(
        f"unknown chain {value[:40]!r}; use a chain id or one of: " + ", ".join(sorted(CHAIN_NAMES))
    )


def _token_label(collection: str | None, name: str | None, token_id: int) -> str:
    if name:
        return f"{name} ({collection})" if collection and collection not in name else name
    return f"{collection or 'token'} #{token_id}"


class AvatarService:
    """Avatars for chat accounts, verified against their linked wallets.

    ``policy`` governs every metadata and image fetch (tests admit 127.0.0.1 explicitly).
    """

    def __init__(
        self,
        *,
        store: Callable[[], Store],
        notifier: Notifier,
        public_url: str,
        chain_id: int,
        w3: W3Provider | None,
        ipfs_gateway: str,
        arweave_gateway: str,
        max_image_bytes: int,
        fetch_timeout: float,
        recheck_hours: float,
        policy: FetchPolicy = DEFAULT_POLICY,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self.public_url = public_url.rstrip("/")
        self.chain_id = chain_id
        self._w3 = w3
        # uri.resolve_uri appends "/ipfs/<cid>" itself; a gateway configured the common way
        # ("https://ipfs.io/ipfs/") would otherwise give ".../ipfs/ipfs/<cid>".
        self._ipfs = ipfs_gateway.rstrip("/").removesuffix("/ipfs")
        self._arweave = arweave_gateway
        self._max_image = max_image_bytes
        self._timeout = fetch_timeout
        self.recheck_seconds = recheck_hours * 3600.0
        self._policy = policy
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    async def _web3(self) -> AsyncWeb3[Any]:
        w3 = await self._w3() if self._w3 is not None else None
        if w3 is None:
            raise AvatarError(
                "this bridge has no Ethereum RPC configured, so it cannot verify NFTs"
            )
        return w3

    # --- showing --------------------------------------------------------------------------

    def image_url(self, sha256: str) -> str:
        return f"{self.public_url}/avatars/{sha256}.png"

    async def get(self, platform: str, user_id: str) -> avatar_store.AvatarRecord | None:
        return await avatar_store.get(self._store().db, platform, user_id)

    async def avatar_url_for(self, platform: str, user_id: str) -> str | None:
        """The URL of the account's verified avatar, or None."""
        sha = await avatar_store.image_of(self._store().db, platform, user_id)
        return None if sha is None else self.image_url(sha)

    async def enrich(self, author: Author) -> Author:
        """``author`` as the bridge's records show them: with the verified avatar and
        ``verified`` set when this exact account has one, else ``verified`` False and no avatar
        that claims to be one of the bridge's own (a Waku sender can put any URL there)."""
        url = await self.avatar_url_for(author.platform, str(author.user_id))
        if url is not None:
            return replace(author, avatar_url=url, verified=True)
        avatar = author.avatar_url
        if avatar is not None and avatar.lower().startswith(f"{self.public_url}/avatars/".lower()):
            avatar = None
        return replace(author, avatar_url=avatar, verified=False)

    async def image(self, sha256: str) -> bytes | None:
        if not _HASH.fullmatch(sha256):
            return None
        return await avatar_store.image(self._store().db, sha256)

    # --- setting --------------------------------------------------------------------------

    async def set_avatar(
        self, platform: str, user_id: str, contract: str, token_id: int, chain_id: int | None
    ) -> avatar_store.AvatarRecord:
        """Verify and store an avatar; raises AvatarError saying what is wrong."""
        if not _ADDRESS.fullmatch(contract):
            raise AvatarError("the contract must be an address: 0x followed by 40 hex digits")
        if not 0 <= token_id < 2**256:
            raise AvatarError("token ids are whole numbers from 0 to 2^256-1")
        if chain_id is not None and chain_id != self.chain_id:
            raise AvatarError(
                f"this bridge verifies NFTs on chain {self.chain_id} only, not chain {chain_id}"
            )
        wallets = await links.wallets_of(self._store().db, platform, user_id)
        if not wallets:
            raise AvatarError("link a wallet first with /link; avatars must be owned by it")
        w3 = await self._web3()
        held = await self._holder(w3, contract, token_id, [w.address for w in wallets])
        if held is None:
            raise AvatarError(
                f"none of your linked wallets ({', '.join(w.address for w in wallets)}) "
                f"owns token {token_id} of {contract}"
            )
        wallet, ownership = held
        assert ownership.standard != "unknown"
        if not ownership.token_uri:
            raise AvatarError("the contract returned no token URI, so there is no image to show")
        try:
            meta = await load_metadata(
                ownership.token_uri,
                ipfs_gateway=self._ipfs,
                arweave_gateway=self._arweave,
                token_id=token_id if ownership.standard == "erc1155" else None,
                policy=self._policy,
                timeout=self._timeout,
            )
        except MetadataError as exc:
            log.info("avatar for %s:%s: metadata refused: %s", platform, user_id, exc)
            raise AvatarError(f"the token's metadata was refused: {exc.public}") from None
        if meta.image is None:
            raise AvatarError("the token's metadata names no image")
        png = await self._image(meta.image)
        try:
            avatar = normalise_avatar(png, max_bytes=self._max_image)
        except ImageError as exc:
            raise AvatarError(f"the token's image was refused: {exc}") from None
        record = avatar_store.AvatarRecord(
            platform=platform,
            user_id=user_id,
            caip19=caip19(self.chain_id, ownership.standard, contract, token_id),
            wallet=wallet,
            block=ownership.block,
            collection=meta.collection,
            name=meta.name,
            image_sha256=avatar.sha256,
            verified_at=self._now(),
        )
        async with self._store().transaction() as db:
            await avatar_store.put(db, record, avatar.png, avatar.source_format)
        return record

    async def _holder(
        self, w3: AsyncWeb3[Any], contract: str, token_id: int, wallets: list[str]
    ) -> tuple[str, Ownership] | None:
        """The first wallet holding the token and its check; AvatarError for non-NFTs."""
        for wallet in wallets:
            try:
                ownership = await check_ownership(
                    w3, contract, token_id, wallet, timeout=self._timeout
                )
            except OwnershipError as exc:
                log.warning("avatar check of %s #%d: the chain failed: %s", contract, token_id, exc)
                raise AvatarError(
                    "the chain could not be asked right now; try again later"
                ) from None
            if ownership.standard == "unknown":
                raise AvatarError(
                    f"{contract} is not an NFT contract this bridge knows "
                    "(it does not declare ERC-721 or ERC-1155 through ERC-165)"
                )
            if ownership.owned:
                return wallet, ownership
        return None

    async def _image(self, ref: str | Inline) -> bytes:
        if isinstance(ref, Inline):
            if ref.media_type == "image/svg+xml":
                raise AvatarError(
                    "the token's image was refused: SVG images are not supported as avatars"
                )
            return ref.data
        try:
            where = resolve_uri(
                ref,
                ipfs_gateway=self._ipfs,
                arweave_gateway=self._arweave,
                max_inline=self._max_image,
            )
        except UriError as exc:
            raise AvatarError(f"the token's image was refused: {exc}") from None
        if isinstance(where, Inline):
            if not where.media_type.startswith("image/"):
                raise AvatarError(
                    f"the token's image was refused: it holds {where.media_type}, not an image"
                )
            return where.data
        try:
            result = await fetch(
                where.url,
                policy=self._policy,
                max_bytes=self._max_image,
                accept=_IMAGE_TYPES,
                timeout=self._timeout,
            )
        except FetchError as exc:
            log.info("avatar image %s refused: %s", where.url[:200], exc)
            raise AvatarError(f"the token's image was refused: {exc.public}") from None
        return result.body

    async def clear(self, platform: str, user_id: str) -> bool:
        async with self._store().transaction() as db:
            return await avatar_store.remove(db, platform, user_id) is not None

    # --- re-checking ----------------------------------------------------------------------

    async def recheck_user(self, platform: str, user_id: str) -> bool | None:
        """Re-verify one account's avatar: True kept, False removed, None when there is none
        (or the chain could not be asked: then it stays)."""
        record = await self.get(platform, user_id)
        if record is None:
            return None
        return await self._recheck(record)

    async def recheck_due(self, limit: int = 100) -> RecheckOutcome:
        """Re-verify avatars last verified more than ``recheck_hours`` ago."""
        cutoff = self._now() - int(self.recheck_seconds)
        kept = removed = unknown = 0
        for record in await avatar_store.due(self._store().db, cutoff, limit):
            result = await self._recheck(record)
            if result is True:
                kept += 1
            elif result is False:
                removed += 1
            else:
                unknown += 1
        return RecheckOutcome(kept, removed, unknown)

    async def _recheck(self, record: avatar_store.AvatarRecord) -> bool | None:
        _chain, _standard, contract, token_id = parse_caip19(record.caip19)
        wallets = await links.wallets_of(self._store().db, record.platform, record.user_id)
        # The wallet that proved it first, then the others (the NFT may have moved between them).
        addresses = sorted((w.address for w in wallets), key=lambda a: a != record.wallet)
        reason: str
        if not addresses:
            reason = "you no longer have a linked wallet"
        else:
            try:
                w3 = await self._web3()
                held = await self._holder(w3, contract, token_id, addresses)
            except AvatarError as exc:
                if "not an NFT contract" not in str(exc):
                    log.warning("avatar re-check postponed: %s", exc)
                    return None
                held, reason = None, "the contract no longer answers as an NFT"
            else:
                reason = f"no linked wallet of yours holds token {token_id} of {contract} any more"
            if held is not None:
                wallet, ownership = held
                async with self._store().transaction() as db:
                    await avatar_store.touch(
                        db, record.platform, record.user_id, wallet, ownership.block, self._now()
                    )
                return True
        async with self._store().transaction() as db:
            current = await avatar_store.get(db, record.platform, record.user_id)
            if current is None or current.caip19 != record.caip19:
                return None  # changed meanwhile: not ours to remove
            await avatar_store.remove(db, record.platform, record.user_id)
        label = _token_label(record.collection, record.name, token_id)
        if record.platform:
            platform: Platform = record.platform
            await self._notifier.tell_user(
                platform,
                UserId(record.user_id),
                f"Your NFT avatar {label} was removed: {reason}.",
            )
        return False

    async def on_unlinked(self, platform: str, user_id: str) -> None:
        """After /unlink: drop the avatar if no linked wallet can still vouch for it."""
        record = await self.get(platform, user_id)
        if record is None:
            return
        wallets = await links.wallets_of(self._store().db, platform, user_id)
        if not any(w.address.lower() == record.wallet.lower() for w in wallets):
            await self._recheck(record)


class AvatarRechecker:
    """A bridge component that runs :meth:`AvatarService.recheck_due` on a schedule."""

    name = "avatars"

    def __init__(self, service: AvatarService, *, poll_seconds: float | None = None) -> None:
        self._service = service
        # Wake often enough that an avatar is re-checked soon after it falls due.
        self._poll = poll_seconds or max(60.0, min(service.recheck_seconds / 4, 3600.0))
        self._task: asyncio.Task[None] | None = None
        self.last_error: str | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="avatar-recheck")

    async def stop(self) -> None:
        task, self._task = self._task, None
        await cancel_and_wait(task)

    def health(self) -> bool:
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        while True:
            try:
                outcome = await self._service.recheck_due()
                self.last_error = None
                if outcome.removed or outcome.unknown:
                    log.info(
                        "avatar re-check: %d kept, %d removed, %d postponed",
                        outcome.kept,
                        outcome.removed,
                        outcome.unknown,
                    )
            except Exception as exc:  # keep the schedule alive whatever one round met
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("avatar re-check failed")
            await asyncio.sleep(self._poll)
