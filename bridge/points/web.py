"""Community points on the web (routes for :mod:`bridge.web.app`).

- ``GET /points/cycles/{n}.json``: a closed cycle's claim list, the canonical JSON bytes
  (its CID in ``X-Parley-CID`` and the ETag); ``GET /points/cycles.json``: every cycle;
- ``GET /points/claim``: the claim page; it connects the member's wallet (EIP-1193), asks
  ``GET /api/points/claim/{address}`` for that wallet's amount, proof and calldata (computed
  here, so the page needs no ABI encoder) and sends ``claim`` from the wallet itself;
- ``GET /points/{room}``: the room's leaderboard (this cycle and all time) and its latest
  awards and deductions (who, how many, why, when);
- ``GET /points/{room}/entries.json?before=<id>``: the room's whole ledger, newest first, 200
  entries a page (names, not platform ids);
- ``GET /points-assets/{name}``: the pages' only scripts and stylesheet.

Pages run under the same strict Content-Security-Policy as the tip page.
"""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from aiohttp import web

from bridge.points.closing import claim_calldata
from bridge.store import points as points_store
from bridge.tips.amounts import format_amount
from bridge.web.app import RouteRegistrar
from bridge.web.assets import PAGE_HEADERS, asset_handler, static_text

if TYPE_CHECKING:
    from bridge.config import PointsSettings, Settings
    from bridge.points.closing import ClaimBook, CycleManager
    from bridge.points.service import PointsService
    from bridge.store.points import Cycle

__all__ = ["PointsPages", "points_routes"]


class PointsPages(Protocol):
    """What the pages read of the points feature (``bridge.points.PointsFeature``)."""

    settings: Settings
    config: PointsSettings
    service: PointsService
    manager: CycleManager | None
    book: ClaimBook | None


_HEADERS = PAGE_HEADERS
_ASSETS = {"wallet.js": "text/javascript", "claim.js": "text/javascript", "points.css": "text/css"}
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_CYCLE = re.compile(r"^[1-9][0-9]{0,8}$")


def _page(
    bridge: str, title: str, body: str, *, script: bool = False, status: int = 200
) -> web.Response:
    js = (
        '<script src="/points-assets/wallet.js" defer></script>\n'
        '<script src="/points-assets/claim.js" defer></script>\n'
        if script
        else ""
    )
    text = (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        f"<title>{html.escape(title)} · {html.escape(bridge)}</title>\n"
        '<link rel="stylesheet" href="/points-assets/points.css">\n'
        f"{js}</head>\n<body>\n<main>\n<h1>{html.escape(title)}</h1>\n{body}\n</main>\n</body>\n</html>\n"
    )
    return web.Response(
        text=text, status=status, content_type="text/html", charset="utf-8", headers=_HEADERS
    )


def _when(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def points_routes(feature: PointsPages) -> RouteRegistrar:
    return _Routes(feature).register


class _Routes:
    """The handlers, over the feature (whose manager and book appear once it starts)."""

    def __init__(self, feature: PointsPages) -> None:
        self._feature = feature
        self._bridge = feature.settings.bridge.name
        self._claim_body = static_text("claim.html")
        self._config = feature.config
        self._asset = asset_handler(_ASSETS)

    def register(self, app: web.Application) -> None:
        app.router.add_get("/points/cycles.json", self.cycle_index)
        app.router.add_get("/points/cycles/{cycle}.json", self.cycle_list)
        app.router.add_get("/points/claim", self.claim_page)
        app.router.add_get("/api/points/claim/{address}", self.claim_api)
        app.router.add_get("/points-assets/{name}", self._asset)
        app.router.add_get("/points/{room}/entries.json", self.entries)
        app.router.add_get("/points/{room}", self.leaderboard)

    async def cycle_list(self, request: web.Request) -> web.StreamResponse:
        number = request.match_info["cycle"]
        manager = self._feature.manager
        if manager is None or not _CYCLE.match(number):
            raise web.HTTPNotFound(text="no such cycle")
        row = await points_store.get_cycle(self._feature.service.store.db, int(number))
        path = await manager.document(int(number))
        if row is None or path is None:
            raise web.HTTPNotFound(text="no such cycle")
        headers = {
            "X-Parley-CID": row.cid,
            "ETag": f'"{row.cid}"',
            "Access-Control-Allow-Origin": "*",
            "Content-Type": "application/json",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "public, max-age=31536000, immutable",
        }
        return web.FileResponse(path, headers=headers)

    async def cycle_index(self, request: web.Request) -> web.Response:
        found = await points_store.cycles(self._feature.service.store.db)
        body = [
            {
                "cycle": c.cycle,
                "status": c.status,
                "root": c.root,
                "cid": c.cid,
                "token": c.token,
                "distributor": c.distributor,
                "wallets": c.members,
                "total": str(c.total),
                "closed_at": c.closed_at,
                "tx": c.tx_hash,
                "block": c.published_block,
                "list": f"/points/cycles/{c.cycle}.json",
            }
            for c in found
        ]
        return web.json_response(body, headers={"Access-Control-Allow-Origin": "*"})

    async def claim_page(self, request: web.Request) -> web.Response:
        return _page(self._bridge, "Claim your points", self._claim_body, script=True)

    async def claim_api(self, request: web.Request) -> web.Response:
        address = request.match_info["address"]
        if not _ADDRESS.match(address):
            return web.json_response({"error": "not an address"}, status=400, headers=_HEADERS)
        book, manager = self._feature.book, self._feature.manager
        if book is None or manager is None:
            return web.json_response({"error": "not running"}, status=503, headers=_HEADERS)
        config = self._config
        chain_id = self._feature.settings.chain.chain_id
        latest = await book.latest()
        pending = await points_store.cycles(self._feature.service.store.db, status="closing")
        view: dict[str, Any] = {
            "address": address,
            "chain_id": chain_id,
            "chain_id_hex": hex(chain_id),
            "distributor": config.distributor,
            "token": config.token,
            "symbol": await manager.symbol() if manager.chain is not None else "POINTS",
            "cycle": None if latest is None else latest.cycle,
            "root": None if latest is None else latest.root,
            "pending_cycle": pending[0].cycle if pending else None,
            "amount": "0",
            "claimed": "0",
            "claimable": "0",
            "claimable_display": "0",
            "tx": None,
            "message": "",
        }
        found = await book.lookup(address)
        if latest is None:
            view["message"] = "No cycle has been published yet."
        elif found is None:
            view["message"] = (
                f"This wallet is not in cycle {latest.cycle}'s list. Points are paid to the wallet"
                " you linked most recently (/link), from the next cycle close on."
            )
        else:
            await self._fill_claim(view, manager, *found)
        return web.json_response(view, headers=_HEADERS, dumps=lambda v: json.dumps(v))

    async def _fill_claim(
        self,
        view: dict[str, Any],
        manager: CycleManager,
        cycle: Cycle,
        wallet: str,
        amount: int,
        proof: list[bytes],
    ) -> None:
        """The claim API's answer for a wallet in the latest published list."""
        config = self._config
        claimed = 0
        if manager.chain is not None:
            claimed = await manager.chain.already_claimed(wallet)
        claimable = max(amount - claimed, 0)
        view.update(
            address=wallet,
            amount=str(amount),
            claimed=str(claimed),
            claimable=str(claimable),
            claimable_display=format_amount(claimable, config.token_decimals),
            proof=["0x" + p.hex() for p in proof],
        )
        if claimable == 0:
            view["message"] = f"Everything up to cycle {cycle.cycle} is claimed."
            return
        view["tx"] = {
            "to": config.distributor,
            "data": claim_calldata(wallet, amount, proof),
            "value": "0x0",
        }
        if manager.chain is not None:
            balance, _ = await manager.chain.funds()
            if balance < claimable:
                view["message"] = (
                    "The distributor does not hold enough tokens for this claim yet;"
                    " the community must fund it first. Your points are kept."
                )
                view["tx"] = None

    async def leaderboard(self, request: web.Request) -> web.Response:
        room = request.match_info["room"]
        if room not in self._config.rooms:
            return _page(
                self._bridge,
                "Leaderboard",
                '<p class="error">No such room earns points.</p>',
                status=404,
            )
        service = self._feature.service
        standings = await service.standings(room)
        cycle = await points_store.current_cycle(service.store.db)
        rows = "".join(
            f"<tr><td>{s.rank if s.rank is not None else '–'}</td><td>{html.escape(s.name)}</td>"
            f"<td>{s.cycle_points}</td><td>{s.total_points}</td>"
            f"<td>{'linked' if s.wallet else 'not linked'}</td></tr>"
            for s in standings[:100]
        )
        names = await points_store.account_names(service.store.db)
        audit = "".join(
            f"<tr><td>{_when(e.created_at)}</td>"
            f"<td>{html.escape(names.get((e.platform, e.user_id), e.user_id))}</td>"
            f"<td>{e.amount:+d}</td><td>{html.escape(e.kind)}</td>"
            f"<td>{html.escape(names.get(tuple(e.actor.split(':', 1)), e.actor))}</td>"  # type: ignore[arg-type]
            f"<td>{html.escape(e.reason)}</td></tr>"
            for e in await points_store.manual_entries(service.store.db, room)
        )
        body = (
            f"<p>Room <strong>{html.escape(room)}</strong>, cycle {cycle} (open).</p>"
            '<table id="leaderboard"><thead><tr><th>#</th><th>member</th><th>this cycle</th>'
            f"<th>all time</th><th>wallet</th></tr></thead><tbody>{rows}</tbody></table>"
            "<h2>Awards and deductions</h2>"
            '<table id="audit"><thead><tr><th>when</th><th>member</th><th>points</th><th>what</th>'
            f"<th>by</th><th>why</th></tr></thead><tbody>{audit}</tbody></table>"
            '<p class="small"><a href="/points/claim">Claim your points</a> ·'
            ' <a href="/points/cycles.json">all cycles</a></p>'
        )
        return _page(self._bridge, f"Points in {room}", body)

    async def entries(self, request: web.Request) -> web.Response:
        room = request.match_info["room"]
        if room not in self._config.rooms:
            raise web.HTTPNotFound(text="no such room")
        before_text = request.query.get("before", "")
        if before_text and not _CYCLE.match(before_text.lstrip("0") or "x"):
            raise web.HTTPBadRequest(text="before must be an entry id")
        db = self._feature.service.store.db
        found = await points_store.room_entries(
            db, room, before=int(before_text) if before_text else None, limit=200
        )
        names = await points_store.account_names(db)

        def actor(text: str) -> str:
            platform, _, user = text.partition(":")
            return names.get((platform, user), text if platform in ("system", "chain") else "?")

        body = {
            "room": room,
            "entries": [
                {
                    "id": e.id,
                    "cycle": e.cycle,
                    "member": names.get((e.platform, e.user_id), "?"),
                    "platform": e.platform,
                    "kind": e.kind,
                    "points": e.amount,
                    "by": actor(e.actor),
                    "why": e.reason,
                    "at": e.created_at,
                }
                for e in found
            ],
            "next": f"/points/{room}/entries.json?before={found[-1].id}" if found else None,
        }
        return web.json_response(body, headers=_HEADERS)
