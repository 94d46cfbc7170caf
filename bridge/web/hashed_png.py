"""A PNG served by the hash of its content (``/<prefix>/<sha256>.png``): avatars and photos.

The name is the content's hash, so responses are immutable and cacheable forever; anything
else is a 404.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from aiohttp import web

__all__ = ["png_by_hash"]

_NAME = re.compile(r"([0-9a-f]{64})\.png")
_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",  # Discord and Status clients fetch them
}


def png_by_hash(
    image: Callable[[str], Awaitable[bytes | None]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler answering ``{name}`` = ``<sha256>.png`` with ``image(sha256)``."""

    async def serve(request: web.Request) -> web.Response:
        match = _NAME.fullmatch(request.match_info["name"])
        if match is None:
            raise web.HTTPNotFound()
        digest = match.group(1)
        png = await image(digest)
        if png is None:
            raise web.HTTPNotFound()
        etag = f'"{digest}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={**_HEADERS, "ETag": etag})
        return web.Response(body=png, content_type="image/png", headers={**_HEADERS, "ETag": etag})

    return serve
