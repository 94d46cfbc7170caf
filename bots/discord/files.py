"""Files in and out of Discord, always through the shared guarded fetcher."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Sequence

import discord

from bots.base import Attachment, RetryableError
from bots.discord.common import MAX_INBOUND_ATTACHMENTS, FileFetchError, kind_of, safe_filename
from bots.discord.state import DiscordState
from bridge.formatting import human_size
from bridge.nft.safe_fetch import FetchError, FetchPolicy
from bridge.nft.safe_fetch import fetch as guarded_fetch

__all__ = ["DiscordFiles"]

log = logging.getLogger(__name__)


class DiscordFiles:
    def __init__(self, state: DiscordState, fetch_policy: FetchPolicy) -> None:
        """``fetch_policy``: what attachment URLs may reach (tests admit 127.0.0.1)."""
        self._state = state
        self._fetch_policy = fetch_policy

    async def inbound(self, message: discord.Message) -> tuple[list[Attachment], list[str]]:
        """The message's files, and a notice for each one that cannot be relayed."""
        notices: list[str] = []
        attachments: list[Attachment] = []
        for item in message.attachments[:MAX_INBOUND_ATTACHMENTS]:
            name = safe_filename(item.filename)
            if item.size > self._state.max_bytes:
                notices.append(f"[file too large to relay: {name} ({human_size(item.size)})]")
                continue
            mime = item.content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
            try:
                data = await self.fetch(item.url, self._state.max_bytes)
            except FileFetchError as exc:
                if exc.too_large:
                    notices.append(f"[file too large to relay: {name}]")
                else:
                    log.warning("could not read Discord attachment %s: %s", name, exc)
                    notices.append(f"[file could not be relayed: {name}]")
                continue
            attachments.append(
                Attachment(kind_of(mime), name, mime.split(";")[0], len(data), data=data)
            )
        return attachments, notices

    async def outbound(
        self, attachments: Sequence[Attachment]
    ) -> tuple[list[tuple[str, bytes]], list[str]]:
        files: list[tuple[str, bytes]] = []
        notices: list[str] = []
        for attachment in attachments:
            name = safe_filename(attachment.filename)
            if attachment.size is not None and attachment.size > self._state.max_bytes:
                notices.append(f"[file too large to relay: {name} ({human_size(attachment.size)})]")
                continue
            data = attachment.data
            if data is None and attachment.url is not None:
                try:
                    data = await self.fetch(attachment.url, self._state.max_bytes)
                except FileFetchError as exc:
                    if exc.retryable:
                        raise RetryableError(f"could not fetch {name}: {exc}") from exc
                    notices.append(
                        f"[file too large to relay: {name}]"
                        if exc.too_large
                        else f"[file could not be relayed: {name}]"
                    )
                    continue
            if data is None:
                continue
            if len(data) > self._state.max_bytes:
                notices.append(f"[file too large to relay: {name} ({human_size(len(data))})]")
                continue
            files.append((name, data))
        return files, notices

    async def fetch(self, url: str, cap: int) -> bytes:
        """GET ``url`` through the shared guarded fetcher: at most ``cap`` bytes, within the
        request timeout, never into the bridge's own network (unless the policy says so)."""
        if self._state.client is None:
            raise FileFetchError("the adapter is stopped", retryable=True)
        try:
            result = await guarded_fetch(
                url,
                policy=self._fetch_policy,
                max_bytes=cap,
                accept=None,
                timeout=self._state.timeout,
            )
        except FetchError as exc:
            raise FileFetchError(
                str(exc), retryable=exc.retryable, too_large=exc.too_large
            ) from exc
        return result.body
