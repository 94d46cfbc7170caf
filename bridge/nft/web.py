"""``GET /avatars/<sha256>.png``: the verified avatars, by content hash.

Only PNGs the bridge itself produced (re-encoded by :mod:`bridge.nft.image`) are stored, so
what is served is never the token's original bytes. The name is the hash of the content, so
responses are immutable and cacheable forever; anything else is a 404.
"""

from __future__ import annotations

from aiohttp import web

from bridge.nft.service import AvatarService
from bridge.web.app import RouteRegistrar
from bridge.web.hashed_png import png_by_hash

__all__ = ["avatar_routes"]


def avatar_routes(service: AvatarService) -> RouteRegistrar:
    """A registrar adding the avatar route, served from ``service``'s store."""

    serve = png_by_hash(service.image)

    def register(app: web.Application) -> None:
        app.router.add_get("/avatars/{name}", serve)

    return register
