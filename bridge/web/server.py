"""Serving an aiohttp application on one host and port: the web server and the Waku REST API.

Both face clients the bridge does not trust, so both get the same limits (``HttpLimits``):

- a request's headers must be complete within ``header_timeout`` of the connection opening (or of
  the previous response on a kept-alive connection): aiohttp's keep-alive timer closes a
  connection that is still waiting for a complete request then, so half-sent headers
  (slowloris) are not held open;
- a request's body must have arrived within ``body_timeout`` of its headers, or the connection
  is closed;
- at most ``max_connections`` connections are open at once; past that a new connection takes
  the place of the oldest idle one (no request in progress), or gets a 503 and is closed when
  all are busy. The cap keeps file descriptors for everything else the process does (the
  store, the platforms, the Waku node): a flood of idle sockets on the web port cannot starve
  relaying, nor keep a client that sends whole requests out.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

__all__ = ["HttpLimits", "HttpServer", "raise_descriptor_limit"]

log = logging.getLogger(__name__)

# Long enough for an in-flight request to finish; a stopping bridge should not hang on a client.
SHUTDOWN_TIMEOUT = 2.0
_BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n"
    b"Retry-After: 5\r\nConnection: close\r\n\r\ntoo many open connections\n"
)


@dataclass(frozen=True, slots=True)
class HttpLimits:
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 256

    def __post_init__(self) -> None:
        if self.header_timeout <= 0 or self.body_timeout <= 0 or self.max_connections < 1:
            raise ValueError("HTTP limits must be positive")


class _Gate:
    """The open connections of one listening socket, oldest first.

    At the cap, a new connection takes the place of the oldest one that has no request in
    progress (a half-sent request, an idle keep-alive): a flood of idle sockets then cannot
    lock out a client that sends a whole request at once (/health keeps answering). When every
    connection is busy with a request, the new one gets a 503 and is closed.
    """

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = limit
        self.connections: OrderedDict[_Counted, None] = OrderedDict()
        self.by_transport: dict[asyncio.BaseTransport, _Counted] = {}
        self.refused = 0
        self.evicted = 0

    @property
    def open(self) -> int:
        return len(self.connections)

    def wrap(self, inner: Callable[[], asyncio.BaseProtocol]) -> Callable[[], asyncio.Protocol]:
        def make() -> asyncio.Protocol:
            if self._live() >= self.limit and not self._evict_idle():
                self.refused += 1
                self._report()
                return _Refuse()
            counted = _Counted(inner(), self)
            self.connections[counted] = None
            return counted

        return make

    def _live(self) -> int:
        return sum(1 for c in self.connections if not c.closing)

    def _evict_idle(self) -> bool:
        for counted in self.connections:
            if not counted.closing and counted.busy == 0 and counted.transport is not None:
                counted.closing = True
                counted.transport.close()
                self.evicted += 1
                self._report()
                return True
        return False

    def _report(self) -> None:
        events = self.refused + self.evicted
        if events == 1 or events % 1000 == 0:
            log.warning(
                "%s: %d connections open (the cap); %d idle one(s) closed for new ones, "
                "%d refused so far",
                self.name,
                self.open,
                self.evicted,
                self.refused,
            )

    def forget(self, counted: _Counted) -> None:
        self.connections.pop(counted, None)
        if counted.transport is not None:
            self.by_transport.pop(counted.transport, None)


class _Counted(asyncio.Protocol):
    """aiohttp's protocol, unchanged, with the gate told when the connection ends."""

    def __init__(self, inner: asyncio.BaseProtocol, gate: _Gate) -> None:
        assert isinstance(inner, asyncio.Protocol)
        self._inner = inner
        self._gate: _Gate | None = gate
        self.transport: asyncio.BaseTransport | None = None
        self.busy = 0  # requests being handled (set by the server's middleware)
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        if self._gate is not None:
            self._gate.by_transport[transport] = self
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        gate, self._gate = self._gate, None
        if gate is not None:
            gate.forget(self)
        self._inner.connection_lost(exc)


def _mark_busy(gate: _Gate) -> Middleware:
    @web.middleware
    async def busy(request: web.Request, handler: Handler) -> web.StreamResponse:
        counted = gate.by_transport.get(request.transport) if request.transport else None
        if counted is None:
            return await handler(request)
        counted.busy += 1
        try:
            return await handler(request)
        finally:
            counted.busy -= 1

    return busy


class _Refuse(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(_BUSY)
        transport.close()


def _body_deadline(timeout: float) -> Middleware:
    @web.middleware
    async def body_in_time(request: web.Request, handler: Handler) -> web.StreamResponse:
        transport = request.transport
        if not request.body_exists or transport is None:
            return await handler(request)

        def check() -> None:
            # Not consumed here: handlers stream the body themselves. Only its arrival counts.
            if not request.content.is_eof():
                log.info(
                    "%s %s: the body was too slow; connection closed", request.method, request.path
                )
                transport.close()

        timer = asyncio.get_running_loop().call_later(timeout, check)
        try:
            return await handler(request)
        finally:
            timer.cancel()

    return body_in_time


class HttpServer:
    """An aiohttp application served on host:port; port 0 picks a free port (see ``port``)."""

    def __init__(
        self,
        name: str,
        app: web.Application,
        host: str,
        port: int,
        *,
        limits: HttpLimits | None = None,
    ) -> None:
        self.name = name
        self._app = app
        self._host = host
        self._requested_port = port
        self.limits = limits if limits is not None else HttpLimits()
        self._gate = _Gate(name, self.limits.max_connections)
        self._runner: web.AppRunner | None = None
        self._server: asyncio.Server | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        if self._port is None:
            raise RuntimeError(f"{self.name} is not listening")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def open_connections(self) -> int:
        return self._gate.open

    @property
    def busy_connections(self) -> int:
        """Connections with a request being handled (never pushed out for a new one)."""
        return sum(1 for c in self._gate.connections if c.busy)

    async def start(self) -> None:
        self._app.middlewares.append(_mark_busy(self._gate))
        self._app.middlewares.append(_body_deadline(self.limits.body_timeout))
        runner = web.AppRunner(
            self._app,
            access_log=None,
            shutdown_timeout=SHUTDOWN_TIMEOUT,
            # aiohttp closes a connection whose next request is not complete by then: this is
            # the header timeout (it runs from the connection's start, and from each response).
            keepalive_timeout=self.limits.header_timeout,
            # After an answer to an unread body (413, an early error) aiohttp reads on for this
            # long before closing, so the client sees the answer; a slow client must not hold it.
            lingering_time=1.0,
        )
        await runner.setup()
        assert runner.server is not None
        loop = asyncio.get_running_loop()
        try:
            server = await loop.create_server(
                self._gate.wrap(runner.server), self._host, self._requested_port
            )
        except BaseException:
            await runner.cleanup()
            raise
        self._runner, self._server = runner, server
        self._port = int(server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        server, self._server = self._server, None
        if server is not None:
            server.close()  # stop accepting; aiohttp closes the open connections below
        if runner is not None:
            await runner.cleanup()
        if server is not None:
            await server.wait_closed()

    def health(self) -> bool:
        return self._runner is not None


def raise_descriptor_limit() -> tuple[int, int]:
    """Raise this process's soft limit on open files to the hard limit; returns (soft, hard).

    The default soft limit (often 1024) is what a flood of sockets exhausts first; the hard
    limit is what the operator allowed.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-files limit from %d: %s", soft, exc)
    return soft, hard
