"""Files in and out of Telegram, always through the shared guarded fetcher."""

from __future__ import annotations

import mimetypes

from telegram import Message
from telegram.error import BadRequest, TelegramError

from bots.base import Attachment, AttachmentKind, RetryableError
from bots.telegram.common import (
    PROFILE_PHOTO_LIMIT,
    UPLOAD_LIMIT,
    DownloadFailed,
    TooLarge,
    Transient,
    Unavailable,
)
from bots.telegram.session import BotSession
from bridge.formatting import human_size
from bridge.nft.safe_fetch import FetchError, FetchPolicy, fetch, trusted_endpoint_policy

__all__ = ["TelegramFiles", "files_of"]


class TelegramFiles:
    """Downloads from Telegram's file server, uploads' bytes from other platforms' URLs."""

    def __init__(self, session: BotSession, *, max_download: int, fetch_policy: FetchPolicy):
        """``fetch_policy``: what attachment URLs from other platforms may reach."""
        self._session = session
        self.max_download = max_download
        self._fetch_policy = fetch_policy
        # Telegram's file server is the one the operator configured (maybe a local Bot API
        # server): any address, still with the fetcher's caps and timeouts.
        self._file_policy = trusted_endpoint_policy()

    async def inbound(
        self, message: Message, *, final_attempt: bool
    ) -> tuple[list[Attachment], list[str]]:
        """The message's files, and a notice for each one that cannot be relayed."""
        found = files_of(message)
        attachments: list[Attachment] = []
        notices: list[str] = []
        for kind, file_id, name, mime, size in found:
            if size is not None and size > self.max_download:
                notices.append(f"[file too large to relay: {name} ({human_size(size)})]")
                continue
            try:
                data = await self.download(file_id)
            except TooLarge as exc:
                notices.append(f"[file too large to relay: {name} ({human_size(exc.size)})]")
                continue
            except (Unavailable, BadRequest):
                notices.append(f"[file could not be relayed: {name}]")
                continue
            except (TelegramError, Transient, TimeoutError) as exc:
                if not final_attempt:
                    raise DownloadFailed() from exc
                notices.append(f"[file could not be relayed: {name}]")
                continue
            attachments.append(Attachment(kind, name, mime, size=len(data), data=data))
        return attachments, notices

    async def download(self, file_id: str, limit: int | None = None) -> bytes:
        cap = self.max_download if limit is None else min(limit, self.max_download)
        file = await self._session.bot.get_file(file_id)
        if file.file_size is not None and file.file_size > cap:
            raise TooLarge(file.file_size)
        if not file.file_path:
            raise Unavailable()
        # The URL holds the bot token: it is never logged nor handed on.
        if not self._session.fetching:
            raise Unavailable()
        return await self._fetch(file.file_path, cap, self._file_policy)

    async def outbound(self, att: Attachment) -> bytes:
        """The bytes of a file to upload (fetched when it came as a URL)."""
        if att.size is not None and att.size > UPLOAD_LIMIT:
            raise TooLarge(att.size)
        if att.data is not None:
            if len(att.data) > UPLOAD_LIMIT:
                raise TooLarge(len(att.data))
            return att.data
        assert att.url is not None
        if not self._session.fetching:
            raise RetryableError("the Telegram adapter is not started")
        try:
            return await self._fetch(att.url, UPLOAD_LIMIT, self._fetch_policy)
        except Transient as exc:
            raise RetryableError(f"could not fetch the attachment {att.filename}") from exc

    async def profile_photo(self, uid: int) -> bytes | None:
        """The user's current profile photo (a size near 320 px), or None when they have none
        or hide it from bots. Raises on a failure worth trying again later."""
        try:
            found = await self._session.bot.get_user_profile_photos(uid, limit=1)
        except BadRequest:
            return None
        if not found.photos or not found.photos[0]:
            return None
        sizes = sorted(found.photos[0], key=lambda p: p.width)
        # The smallest size that still fills the 256-pixel avatar, else the largest.
        size = next((p for p in sizes if p.width >= 256), sizes[-1])
        if size.file_size is not None and size.file_size > PROFILE_PHOTO_LIMIT:
            return None
        try:
            return await self.download(size.file_id, PROFILE_PHOTO_LIMIT)
        except (TooLarge, Unavailable):
            return None

    async def _fetch(self, url: str, limit: int, policy: FetchPolicy) -> bytes:
        """GET ``url`` through the shared guarded fetcher: at most ``limit`` bytes, bounded
        in time. Raises TooLarge, Unavailable (never will work) or Transient."""
        timeout = max(self._session.request_timeout, 60.0)
        try:
            result = await fetch(url, policy=policy, max_bytes=limit, accept=None, timeout=timeout)
        except FetchError as exc:
            if exc.too_large:
                raise TooLarge(None) from exc
            if exc.retryable:
                raise Transient(exc.public) from exc
            raise Unavailable() from exc
        return result.body


def files_of(
    message: Message,
) -> list[tuple[AttachmentKind, str, str, str, int | None]]:
    """(kind, file_id, filename, mime, size) of each file in the message."""
    unique = ""
    out: list[tuple[AttachmentKind, str, str, str, int | None]] = []
    if message.photo:
        largest = message.photo[-1]
        unique = largest.file_unique_id
        out.append(
            ("photo", largest.file_id, f"photo_{unique}.jpg", "image/jpeg", largest.file_size)
        )
    # An animation message also carries it as a document: look at the animation first.
    elif message.animation is not None:
        a = message.animation
        name = a.file_name or f"animation_{a.file_unique_id}.mp4"
        out.append(("animation", a.file_id, name, a.mime_type or "video/mp4", a.file_size))
    elif message.document is not None:
        d = message.document
        name = d.file_name or f"file_{d.file_unique_id}"
        mime = d.mime_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
        out.append(("file", d.file_id, name, mime, d.file_size))
    elif message.video is not None:
        v = message.video
        name = v.file_name or f"video_{v.file_unique_id}.mp4"
        out.append(("video", v.file_id, name, v.mime_type or "video/mp4", v.file_size))
    elif message.video_note is not None:
        n = message.video_note
        out.append(("video", n.file_id, f"video_{n.file_unique_id}.mp4", "video/mp4", n.file_size))
    elif message.audio is not None:
        au = message.audio
        name = au.file_name or f"audio_{au.file_unique_id}.mp3"
        out.append(("audio", au.file_id, name, au.mime_type or "audio/mpeg", au.file_size))
    elif message.voice is not None:
        vo = message.voice
        name = f"voice_{vo.file_unique_id}.ogg"
        out.append(("voice", vo.file_id, name, vo.mime_type or "audio/ogg", vo.file_size))
    elif message.sticker is not None:
        s = message.sticker
        ext, mime = (
            ("tgs", "application/x-tgsticker")
            if s.is_animated
            else ("webm", "video/webm")
            if s.is_video
            else ("webp", "image/webp")
        )
        out.append(("sticker", s.file_id, f"sticker_{s.file_unique_id}.{ext}", mime, s.file_size))
    return out
