"""The wallet-link page and its JSON API (routes for :mod:`bridge.web.app`).

- ``GET /link/{token}``: the HTML page (EIP-1193 wallet button, plus a manual path);
- ``GET /link-assets/link.js`` and ``link.css``: its only script and stylesheet;
- ``GET /api/link/{token}?address=0x…`` -> ``{"message": "<EIP-4361 text>"}``;
- ``POST /api/link/{token}`` with ``{"message", "signature"}`` -> ``{"address", "linked": true}``.

Errors are ``{"error": "<reason>"}`` with a 4xx status. Every response forbids framing, caching
and referrers (the URL holds a bearer token); the page runs under a strict
Content-Security-Policy that allows only its own script, style and API calls.
"""

from __future__ import annotations

import html
import json
import logging
import re
from datetime import UTC, datetime

from aiohttp import web

from bridge.identity.service import LinkError, LinkService
from bridge.web.app import RouteRegistrar
from bridge.web.assets import CSP, PAGE_HEADERS, asset_handler, static_text

__all__ = ["CSP", "MAX_BODY", "link_routes"]

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
"""A link POST is a message (< 2 KiB) and a signature (< 33 KiB for large smart accounts)."""

_PLACEHOLDER = re.compile(r"\{(bridge|platform|user_id|display_name|expires)\}")
_ASSETS = {"link.js": "text/javascript", "link.css": "text/css"}


def _json(body: dict[str, object], status: int = 200) -> web.Response:
    return web.json_response(body, status=status, headers=PAGE_HEADERS)


def _error(exc: LinkError) -> web.Response:
    return _json({"error": exc.reason}, exc.status)


def link_routes(service: LinkService, *, bridge_name: str = "Parley") -> RouteRegistrar:
    """A registrar adding the link page and API, served by ``service``."""
    template = static_text("link.html")
    # Unlike the tip and points assets, these have been served revalidate-on-use (no-cache)
    # rather than no-store since the page landed; kept as is (they carry no token).
    asset = asset_handler(_ASSETS, cache_control="no-cache")

    async def page(request: web.Request) -> web.Response:
        try:
            pending = await service.pending(request.match_info["token"])
        except LinkError as exc:
            body = (
                "<!doctype html><meta charset=utf-8><title>Link a wallet</title>"
                f"<p>{html.escape(exc.reason)}</p>"
            )
            return web.Response(
                text=body, status=exc.status, content_type="text/html", headers=PAGE_HEADERS
            )
        expires = datetime.fromtimestamp(pending.expires_at, UTC).strftime("%H:%M UTC")
        values = {
            "bridge": bridge_name,
            "platform": pending.platform,
            "user_id": pending.user_id,
            "display_name": pending.display_name,
            "expires": expires,
        }
        # One pass, every value escaped: display names are chosen by anyone (and may contain
        # "{...}" themselves, which a second pass would expand).
        text = _PLACEHOLDER.sub(lambda m: html.escape(values[m.group(1)], quote=True), template)
        return web.Response(text=text, content_type="text/html", headers=PAGE_HEADERS)

    async def message(request: web.Request) -> web.Response:
        address = request.query.get("address", "")
        try:
            text = await service.message_for(request.match_info["token"], address)
        except LinkError as exc:
            return _error(exc)
        return _json({"message": text})

    async def submit(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            return _json({"error": "the request is too large"}, 413)
        # The server's body deadline has already read the body into memory (bounded by
        # client_max_size); read() returns that copy, the stream itself is drained.
        raw = await request.read()
        if len(raw) > MAX_BODY:
            return _json({"error": "the request is too large"}, 413)
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            return _json({"error": "the body must be JSON"}, 400)
        if not isinstance(body, dict):
            return _json({"error": "the body must be a JSON object"}, 400)
        try:
            link = await service.complete(
                request.match_info["token"], body.get("message"), body.get("signature")
            )
        except LinkError as exc:
            return _error(exc)
        log.info("wallet linked", extra={"platform": link.platform, "method": link.method})
        return _json({"address": link.address, "linked": True})

    def register(app: web.Application) -> None:
        app.router.add_get("/link/{token}", page)
        app.router.add_get("/link-assets/{name}", asset)
        app.router.add_get("/api/link/{token}", message)
        app.router.add_post("/api/link/{token}", submit)

    return register
