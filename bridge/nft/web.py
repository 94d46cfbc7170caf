"""``GET /avatars/<sha256>.png``: the verified avatars, by content hash.

Only PNGs the bridge itself produced (re-encoded by :mod:`bridge.nft.image`) are stored, so
what is served is never the token's original bytes. The name is the hash of the content, so
responses are immutable and cacheable forever; anything else is a 404.
"""

from __future__ import annotations

import re

from aiohttp import web

from bridge.nft.service import AvatarService
from bridge.web.app import RouteRegistrar

__all__ = ["avatar_routes"]

_NAME = re.compile(r"([0-9a-f]{64})\.png")
_HEADERS = {
    "Cache-Control": "public, max-age=31536000, immutable",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cross-Origin-Resource-Policy": "cross-origin",  # Discord and Status clients fetch it
}


def avatar_routes(service: AvatarService) -> RouteRegistrar:
    """A registrar adding the avatar route, served from ``service``'s store."""

    async def serve(request: web.Request) -> web.Response:
        match = _NAME.fullmatch(request.match_info["name"])
        if match is None:
            raise web.HTTPNotFound()
        digest = match.group(1)
        png = await service.image(digest)
        if png is None:
            raise web.HTTPNotFound()
        etag = f'"{digest}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={**_HEADERS, "ETag": etag})
        return web.Response(body=png, content_type="image/png", headers={**_HEADERS, "ETag": etag})

    def register(app: web.Application) -> None:
        app.router.add_get("/avatars/{name}", serve)

    return register
