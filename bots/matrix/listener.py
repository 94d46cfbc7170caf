"""The application-service HTTP API: where the homeserver pushes transactions of events.

The homeserver retries a transaction until it is answered 200, so the listener answers only
once every event in it is handed to the bridge (and so committed): a crash or a failing store
means a retry, never a lost message. Transaction ids already answered are remembered (a
bounded window) and answered again at once. Every request must carry the hs_token.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bridge.web.server import HttpServer

__all__ = ["MAX_TRANSACTION_BYTES", "TransactionListener"]

log = logging.getLogger(__name__)

# Synapse sends at most 100 events (and 100 EDUs) per transaction, each at most 64 KiB.
MAX_TRANSACTION_BYTES = 16 * 1024 * 1024
_REMEMBERED = 1024

EventsHandler = Callable[[list[dict[str, Any]]], Awaitable[None]]


class TransactionListener:
    def __init__(self, hs_token: str, handle: EventsHandler, host: str, port: int) -> None:
        self._token = hs_token.encode()
        self._handle = handle
        self._done: OrderedDict[str, None] = OrderedDict()
        app = web.Application(client_max_size=MAX_TRANSACTION_BYTES)
        for prefix in ("/_matrix/app/v1", ""):  # "" = the legacy unprefixed paths
            app.router.add_put(f"{prefix}/transactions/{{txn}}", self._transaction)
            app.router.add_get(f"{prefix}/users/{{user}}", self._not_found)
            app.router.add_get(f"{prefix}/rooms/{{alias}}", self._not_found)
        app.router.add_post("/_matrix/app/v1/ping", self._ping)
        self.server = HttpServer("matrix_appservice", app, host, port)
        self.received = 0

    async def start(self) -> None:
        await self.server.start()

    async def stop(self) -> None:
        await self.server.stop()

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        if token is None:
            token = request.query.get("access_token")  # homeservers before spec v1.4
        return token is not None and hmac.compare_digest(token.encode(), self._token)

    @staticmethod
    def _error(status: int, errcode: str, message: str) -> web.Response:
        return web.json_response({"errcode": errcode, "error": message}, status=status)

    async def _transaction(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(403, "M_FORBIDDEN", "bad hs_token")
        txn = request.match_info["txn"]
        if txn in self._done:
            return web.json_response({})
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return self._error(400, "M_NOT_JSON", "body is not JSON")
        events = body.get("events") if isinstance(body, dict) else None
        if not isinstance(events, list):
            return self._error(400, "M_BAD_JSON", "no events array")
        try:
            await self._handle([e for e in events if isinstance(e, dict)])
        except Exception:
            # Not answered 200: the homeserver sends the transaction again later.
            log.exception("matrix transaction %s not handled; the homeserver will retry", txn)
            return self._error(503, "M_UNKNOWN", "not handled, retry")
        self.received += len(events)
        self._done[txn] = None
        while len(self._done) > _REMEMBERED:
            self._done.popitem(last=False)
        return web.json_response({})

    async def _ping(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(403, "M_FORBIDDEN", "bad hs_token")
        return web.json_response({})

    async def _not_found(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(403, "M_FORBIDDEN", "bad hs_token")
        # The bridge registers its puppets itself; it provisions nothing on lookup.
        return self._error(404, "M_NOT_FOUND", "not provisioned on lookup")
