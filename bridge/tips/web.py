"""The tip page, its QR code and its JSON API (routes for :mod:`bridge.web.app`).

- ``GET /tip/{id}``: the HTML page; it connects the tipper's wallet (EIP-1193) and sends the
  TipJar call (for a token, ``approve`` first when the allowance is short);
- ``GET /tip/{id}/qr.svg``: the EIP-681 URI (the ``tipToken`` one for a token) as a QR code,
  generated here by segno;
- ``GET /api/tip/{id}``: the intent as JSON, with the calldata, ``to`` and ``value`` computed
  server-side, so the page needs no ABI encoder;
- ``GET /tip-assets/{wallet.js,tips.js,tips.css}``: the page's only scripts and stylesheet.

An unknown id answers 404, an expired intent 410, each with a clear message. The page runs
under a strict Content-Security-Policy: only its own script, style, images and API calls.
"""

from __future__ import annotations

import html
import io
import json

from aiohttp import web

from bridge.store.tips import TipIntent
from bridge.tips.service import TipService
from bridge.web.app import RouteRegistrar
from bridge.web.assets import CSP, PAGE_HEADERS, asset_handler, static_text

__all__ = ["CSP", "tip_routes"]

_HEADERS = PAGE_HEADERS
_ASSETS = {"wallet.js": "text/javascript", "tips.js": "text/javascript", "tips.css": "text/css"}


def _problem(intent: TipIntent | None) -> tuple[int, str] | None:
    if intent is None:
        return 404, "There is no such tip. Ask for a new link with /tip in the chat."
    if intent.status == "expired":
        return 410, "This tip link has expired. Ask for a new one with /tip in the chat."
    return None


def tip_routes(service: TipService, *, bridge_name: str = "Parley") -> RouteRegistrar:
    """A registrar adding the tip page, its QR code and API, served by ``service``."""
    template = static_text("tips.html")

    def render(title: str, body: str, intent_id: str, status: int = 200) -> web.Response:
        page = (
            template.replace("{bridge}", html.escape(bridge_name))
            .replace("{title}", html.escape(title))
            .replace("{intent_id}", html.escape(intent_id))
            .replace("{body}", body)
        )
        return web.Response(
            text=page, status=status, content_type="text/html", charset="utf-8", headers=_HEADERS
        )

    async def page(request: web.Request) -> web.Response:
        intent = await service.intent(request.match_info["intent_id"])
        problem = _problem(intent)
        if problem is not None or intent is None:
            status, message = problem or (404, "")
            return render("Tip", f'<p class="error">{html.escape(message)}</p>', "", status)
        view = service.api_view(intent)
        memo = f"<p>“{html.escape(intent.memo)}”</p>" if intent.memo else ""
        body = (
            f"<p><strong>{html.escape(intent.tipper_name)}</strong> tips "
            f"<strong>{html.escape(intent.recipient_name)}</strong> "
            f'<span id="amount">{html.escape(view["amount_display"])}</span></p>'
            f"{memo}"
            f'<p class="small">to {html.escape(intent.recipient_address)} on chain '
            f"{intent.chain_id}, through the TipJar {html.escape(intent.tipjar)}</p>"
        )
        return render(f"Tip {view['amount_display']}", body, intent.id)

    async def qr(request: web.Request) -> web.Response:
        import segno

        intent = await service.intent(request.match_info["intent_id"])
        problem = _problem(intent)
        if problem is not None or intent is None:
            status, message = problem or (404, "")
            return web.json_response({"error": message}, status=status, headers=_HEADERS)
        buffer = io.BytesIO()
        segno.make(service.uris(intent)[-1], error="m").save(
            buffer, kind="svg", scale=4, border=2, xmldecl=False, svgns=True
        )
        return web.Response(body=buffer.getvalue(), content_type="image/svg+xml", headers=_HEADERS)

    async def api(request: web.Request) -> web.Response:
        intent = await service.intent(request.match_info["intent_id"])
        problem = _problem(intent)
        if problem is not None or intent is None:
            status, message = problem or (404, "")
            return web.json_response({"error": message}, status=status, headers=_HEADERS)
        return web.json_response(
            service.api_view(intent), headers=_HEADERS, dumps=lambda v: json.dumps(v)
        )

    asset = asset_handler(_ASSETS)

    def register(app: web.Application) -> None:
        app.router.add_get("/tip/{intent_id}", page)
        app.router.add_get("/tip/{intent_id}/qr.svg", qr)
        app.router.add_get("/api/tip/{intent_id}", api)
        app.router.add_get("/tip-assets/{name}", asset)

    return register
