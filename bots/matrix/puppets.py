"""Puppets: one Matrix user per bridged person, with their name and avatar.

Each author elsewhere becomes ``@<prefix><platform>_<escaped id>:<server>``, a user in the
appservice's exclusive namespace, registered on first use. Its display name is the author's
name with the platform after it; its avatar is the author's avatar (the verified NFT avatar
when the identity feature put one on the author), fetched through the guarded fetcher and
uploaded once to the homeserver's media repository.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Final, TypeVar

from mautrix.appservice import IntentAPI
from mautrix.types import ContentURI, UserID

from bridge.model import Author
from bridge.nft.safe_fetch import DEFAULT_POLICY, FetchError, FetchPolicy, fetch

__all__ = ["AVATAR_TYPES", "Puppets", "escape_localpart", "remember"]

log = logging.getLogger(__name__)

AVATAR_TYPES: Final = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
_LOCALPART_SAFE: Final = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_CACHE = 4096
K = TypeVar("K")
V = TypeVar("V")


def escape_localpart(value: str) -> str:
    """Any id -> the characters a Matrix localpart allows, reversibly (the spec's
    historical mapping: ``_`` doubles, an upper-case letter is ``_`` + its lower case,
    anything else ``=xx`` per UTF-8 byte)."""
    out: list[str] = []
    for char in value:
        if char in _LOCALPART_SAFE:
            out.append(char)
        elif char == "_":
            out.append("__")
        elif "A" <= char <= "Z":
            out.append("_" + char.lower())
        else:
            out.extend(f"={byte:02x}" for byte in char.encode())
    return "".join(out)


class Puppets:
    """The puppet intents and their profiles, cached so that a steady room costs no requests."""

    def __init__(
        self,
        bot: IntentAPI,
        *,
        server_name: str,
        prefix: str,
        own_avatar_prefix: str | None,
        avatar_policy: FetchPolicy = DEFAULT_POLICY,
        max_avatar_bytes: int = 5 * 1024 * 1024,
        fetch_timeout: float = 10.0,
    ) -> None:
        self._bot = bot
        self._server = server_name
        self._prefix = prefix
        self._own_prefix = own_avatar_prefix
        self._policy = avatar_policy
        self._max_avatar = max_avatar_bytes
        self._timeout = fetch_timeout
        self._profiles: OrderedDict[UserID, tuple[str, str | None]] = OrderedDict()
        self._avatars: OrderedDict[str, ContentURI] = OrderedDict()

    def mxid(self, author: Author) -> UserID:
        local = f"{self._prefix}{author.platform}_{escape_localpart(str(author.user_id))}"
        return UserID(f"@{local}:{self._server}")

    def is_ours(self, user_id: str) -> bool:
        """A puppet (our echo), whatever its platform."""
        return user_id.startswith(f"@{self._prefix}") and user_id.endswith(f":{self._server}")

    async def intent(self, author: Author) -> IntentAPI:
        """The author's puppet, registered and showing the author's current name and avatar."""
        mxid = self.mxid(author)
        intent = self._bot.user(mxid)
        name = f"{author.display_name} ({author.platform.capitalize()})"[:255]
        wanted = (name, author.avatar_url)
        if self._profiles.get(mxid) == wanted:
            self._profiles.move_to_end(mxid)
            return intent
        await intent.ensure_registered()
        previous = self._profiles.get(mxid)
        if previous is None or previous[0] != name:
            await intent.set_displayname(name, check_current=previous is None)
        if previous is None or previous[1] != author.avatar_url:
            mxc = await self._avatar(author.avatar_url) if author.avatar_url else None
            if mxc is not None or author.avatar_url is None:
                await intent.set_avatar_url(mxc or ContentURI(""), check_current=previous is None)
        remember(self._profiles, mxid, wanted)
        return intent

    async def _avatar(self, url: str) -> ContentURI | None:
        cached = self._avatars.get(url)
        if cached is not None:
            return cached
        try:
            result = await fetch(
                url,
                policy=self._policy_for(url),
                max_bytes=self._max_avatar,
                accept=AVATAR_TYPES,
                timeout=self._timeout,
            )
        except FetchError as exc:
            # The message still goes out, under the name alone.
            log.info("avatar fetch refused or failed: %s", exc)
            return None
        mxc = await self._bot.upload_media(result.body, result.content_type, "avatar")
        remember(self._avatars, url, mxc)
        return mxc

    def _policy_for(self, url: str) -> FetchPolicy:
        # The bridge's own avatar URLs (verified NFT avatars) are served by this very process,
        # often on a loopback or private address the public-internet policy refuses.
        if self._own_prefix is not None and url.startswith(self._own_prefix):
            return FetchPolicy(
                allowed_schemes=frozenset({"http", "https"}),
                allowed_ports=frozenset(range(1, 65536)),
                allow_private=True,
            )
        return self._policy


def remember(cache: OrderedDict[K, V], key: K, value: V) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > _CACHE:
        cache.popitem(last=False)
