"""What the wallet pages (link, tips, points) share: their security headers and static assets.

The pages run under a strict Content-Security-Policy (only their own script, style, images and
API calls), so every script and stylesheet they use is served from ``bridge/web/static``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from importlib import resources

from aiohttp import web

__all__ = ["CSP", "PAGE_HEADERS", "asset_handler", "static_text"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def static_text(name: str) -> str:
    return resources.files("bridge.web.static").joinpath(name).read_text("utf-8")


def asset_handler(
    types: Mapping[str, str], *, cache_control: str | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler serving the files named in ``types`` (name → content type) by ``{name}``,
    read once here; any other name is a 404. ``cache_control`` replaces the pages' no-store."""
    assets = {name: static_text(name) for name in types}
    headers = dict(PAGE_HEADERS)
    if cache_control is not None:
        headers["Cache-Control"] = cache_control

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in assets:
            raise web.HTTPNotFound()
        return web.Response(
            text=assets[name], content_type=types[name], charset="utf-8", headers=headers
        )

    return asset
