"""Slow and idle clients on the bridge's HTTP servers, with real sockets: half-sent requests are
closed after the header timeout, a slow body after the body timeout; at the cap a new client takes
the place of an idle connection (so /health keeps answering) and is refused only when every
connection is busy; relaying never stops meanwhile."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.harness import running_bridge

HEADER_TIMEOUT = 1.0
BODY_TIMEOUT = 2.0
CAP = 20
_SLOW_BODY = (
    b"POST /relay/v1/subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n["/waku/2/rs/16/32"'
)


def _limits(raw: dict[str, Any]) -> None:
    raw["web"].update(header_timeout=HEADER_TIMEOUT, body_timeout=BODY_TIMEOUT, max_connections=CAP)
    raw["waku"].update(rest_max_connections=CAP)


async def _half_open(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    # The request line and one header, never the blank line that ends the headers.
    writer.write(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await writer.drain()
    return reader, writer


async def _closed_within(reader: asyncio.StreamReader, seconds: float) -> bytes:
    """Everything the server sent until it closed the connection (fails if it does not)."""
    async with asyncio.timeout(seconds):
        return await reader.read()


async def test_half_open_connections_cannot_lock_clients_out(tmp_path: Path) -> None:
    async with running_bridge(tmp_path, configure=_limits) as h, aiohttp.ClientSession() as http:
        for server in (h.bridge.web, h.bridge.waku_rest):
            assert server is not None
            port = server.port
            held = [await _half_open(port) for _ in range(CAP)]
            assert server.open_connections == CAP

            # At the cap, a client sending whole requests still gets in: it takes the place of
            # the oldest idle connection, which is closed.
            async with http.get(f"{server.url}/health") as resp:
                assert resp.status == 200, await resp.text()
            assert await _closed_within(held[0][0], 2.0) == b""

            # Relaying does not depend on the web server's sockets.
            text = f"still relaying past port {port}"
            h.tg.user_sends(h.tg_group, h.alice, text)
            await h.dc_copy(text)

            # The other half-open ones are closed after the header timeout, without an answer.
            started = time.monotonic()
            for reader, _ in held[1:]:
                assert await _closed_within(reader, HEADER_TIMEOUT + 5.0) == b""
            assert time.monotonic() - started < HEADER_TIMEOUT + 5.0
            for _, writer in held:
                writer.close()
            async with asyncio.timeout(5.0):
                while server.open_connections:  # noqa: ASYNC110 - the server's own count
                    await asyncio.sleep(0.02)


async def test_the_cap_refuses_extra_connections_when_all_are_busy(tmp_path: Path) -> None:
    async with running_bridge(tmp_path, configure=_limits) as h:
        rest = h.bridge.waku_rest
        assert rest is not None
        # Requests in progress (their bodies still coming) are never pushed out.
        busy = []
        for _ in range(CAP):
            reader, writer = await asyncio.open_connection("127.0.0.1", rest.port)
            writer.write(_SLOW_BODY)
            await writer.drain()
            busy.append((reader, writer))
        async with asyncio.timeout(5.0):
            while rest.busy_connections < CAP:  # noqa: ASYNC110 - the server's own count
                await asyncio.sleep(0.01)
        extra = [await _half_open(rest.port) for _ in range(5)]
        for reader, _ in extra:
            answer = await _closed_within(reader, 2.0)
            assert answer.startswith(b"HTTP/1.1 503"), answer
        h.tg.user_sends(h.tg_group, h.alice, "relaying while the REST API is full")
        await h.dc_copy("relaying while the REST API is full")
        # The slow bodies run out of time; then the API answers again.
        for reader, _ in busy:
            await _closed_within(reader, BODY_TIMEOUT + 5.0)
        for _, writer in busy + extra:
            writer.close()
        async with aiohttp.ClientSession() as http, http.get(f"{rest.url}/health") as resp:
            assert resp.status == 200


async def test_a_slow_body_gets_the_connection_closed(tmp_path: Path) -> None:
    async with running_bridge(tmp_path, configure=_limits) as h:
        assert h.bridge.waku_rest is not None
        rest = h.bridge.waku_rest
        reader, writer = await asyncio.open_connection("127.0.0.1", rest.port)
        writer.write(
            b"POST /relay/v1/subscriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n["/waku/2/rs/16/32"'
        )
        await writer.drain()
        started = time.monotonic()
        answer = await _closed_within(reader, 5.0)
        assert answer == b"" and time.monotonic() - started < 5.0
        writer.close()
        # A body sent in time is read by its handler as usual.
        async with (
            aiohttp.ClientSession() as http,
            http.post(f"{rest.url}/relay/v1/subscriptions", json=["/waku/2/rs/16/32"]) as resp,
        ):
            assert resp.status == 200, await resp.text()
