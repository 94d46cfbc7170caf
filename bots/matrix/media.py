"""Files on Matrix: outbound attachments uploaded to the media repository (fetched through the
guarded fetcher when they come as a URL), inbound ``mxc://`` files downloaded, both capped."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

import aiohttp

from bridge.model import Attachment, PermanentError, RetryableError
from bridge.nft.safe_fetch import FetchError, FetchPolicy, fetch

if TYPE_CHECKING:
    from mautrix.appservice import IntentAPI

__all__ = ["MatrixMedia"]

log = logging.getLogger(__name__)

_MXC: Final = re.compile(r"^mxc://([A-Za-z0-9.:\-\[\]]{1,255})/([A-Za-z0-9_\-]{1,255})$")
_MSGTYPE: Final[dict[str, str]] = {
    "photo": "m.image",
    "sticker": "m.image",
    "animation": "m.image",
    "video": "m.video",
    "audio": "m.audio",
    "voice": "m.audio",
    "file": "m.file",
}


class MatrixMedia:
    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession | None],
        *,
        homeserver_url: str,
        as_token: str,
        fetch_policy: FetchPolicy,
        max_bytes: int,
        timeout: float,
    ) -> None:
        self._session = session
        self._homeserver = homeserver_url
        self._as_token = as_token
        self._policy = fetch_policy
        self._max_bytes = max_bytes
        self._timeout = timeout

    async def content(self, intent: IntentAPI, attachment: Attachment) -> dict[str, Any]:
        """The ``m.room.message`` content of ``attachment``, uploaded by ``intent``."""
        data = attachment.data
        if data is None:
            assert attachment.url is not None
            try:
                result = await fetch(
                    attachment.url,
                    policy=self._policy,
                    max_bytes=self._max_bytes,
                    accept=(),
                    timeout=self._timeout,
                )
            except FetchError as exc:
                raise PermanentError(f"attachment not fetched: {exc}") from exc
            data = result.body
        if len(data) > self._max_bytes:
            raise PermanentError(f"attachment of {len(data)} bytes is over the limit")
        mxc = await intent.upload_media(data, attachment.mime, attachment.filename, len(data))
        return {
            "msgtype": _MSGTYPE.get(attachment.kind, "m.file"),
            "body": attachment.filename,
            "filename": attachment.filename,
            "url": mxc,
            "info": {"mimetype": attachment.mime, "size": len(data)},
        }

    async def download(self, mxc: str) -> bytes | None:
        """An inbound file from the media repository, or None when it cannot be had (gone,
        over the size limit). A homeserver that does not answer raises: the transaction is
        then retried rather than the file lost."""
        match = _MXC.match(mxc)
        session = self._session()
        if match is None or session is None:
            return None
        url = f"{self._homeserver}/_matrix/client/v1/media/download/{match[1]}/{match[2]}"
        headers = {"Authorization": f"Bearer {self._as_token}"}
        async with session.get(url, headers=headers, allow_redirects=False) as resp:
            if resp.status >= 500:
                raise RetryableError(f"media download answered {resp.status}")
            if resp.status != 200:
                log.info("media %s not downloaded: HTTP %s", mxc, resp.status)
                return None
            if (resp.content_length or 0) > self._max_bytes:
                return None
            data = bytearray()
            async for chunk in resp.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > self._max_bytes:
                    return None
        return bytes(data)
