"""FakeTelegram + FakeDiscord in a process of their own, for ``bench/relay.py --fakes``.

    .venv/bin/python -m bench.fakes_server --rooms 1000

Starts both fakes on 127.0.0.1 (free ports) with one bot, a Telegram supergroup, a Discord
channel and its webhook per room, plus a small control server, then prints one JSON line on
stdout (endpoints, token, ids: :func:`world`) and serves until stdin closes. The control
server (loopback only) has:

- ``POST /inject`` ``{"count": n, "rate": r | null}``: a Telegram user posts ``n`` messages,
  spread over the rooms round-robin, at once (``rate`` null) or paced at ``r`` per second in
  the background; answers at once with the texts (unique tokens ``bench-NNNNNN``).
- ``POST /wait`` ``{"texts": [...], "timeout": s}``: answers when the Discord fake has
  executed the webhook for every text (or 504 after ``timeout``).
- ``POST /report`` ``{"texts": [...]}``: per text, when it was injected, when a getUpdates
  answer first handed it to the bot (``polled``) and when the webhook copy arrived
  (``discord``); ``time.monotonic()`` seconds, the system-wide CLOCK_MONOTONIC that the bench
  process reads too.
- ``GET /rss``: this process's current and peak RSS in MiB.
- ``GET /cpu``: this process's CPU time so far (all threads, seconds), so that the bench can
  say what the stand-ins for Telegram's and Discord's servers cost on the same two cores.

Timing happens here, inside the fakes, so the bridge process measures nothing on the
Discord side and the fakes' work never runs on the bridge's core.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import re
import resource
import sys
import time
from typing import Any

from aiohttp import web

from tests.fakes.discord import FakeDiscord
from tests.fakes.telegram import FakeBot, FakeChat, FakeTelegram

TOKEN = re.compile(r"bench-\d+")


class _Clock:
    """When each bench text was injected, polled and copied to Discord."""

    def __init__(self) -> None:
        self.injected: dict[str, float] = {}
        self.polled: dict[str, float] = {}
        self.discord: dict[str, float] = {}
        self.changed = asyncio.Event()


class TimedTelegram(FakeTelegram):
    """FakeTelegram that notes when a getUpdates answer first carries each bench message."""

    def __init__(self, clock: _Clock) -> None:
        super().__init__()
        self.clock = clock

    async def _get_updates(self, bot: FakeBot, params: Any, request: web.Request) -> Any:
        result = await super()._get_updates(bot, params, request)
        now = time.monotonic()
        for update in result or ():
            text = (update.get("message") or {}).get("text") or ""
            self.clock.polled.setdefault(text, now)
        return result


class TimedDiscord(FakeDiscord):
    """FakeDiscord that notes when each bench message's webhook copy was created."""

    def __init__(self, clock: _Clock) -> None:
        super().__init__()
        self.clock = clock

    async def _execute_webhook(self, request: web.Request) -> web.StreamResponse:
        response = await super()._execute_webhook(request)
        if response.status < 300:
            execution = self.webhook_executions[-1]
            found = TOKEN.search(str(execution.payload.get("content") or ""))
            if found is not None:
                self.clock.discord.setdefault(found.group(), time.monotonic())
                self.clock.changed.set()
        return response


async def _rss(request: web.Request) -> web.Response:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return web.json_response({"now": _rss_mb(), "peak": peak})


async def _cpu(request: web.Request) -> web.Response:
    return web.json_response(time.process_time())


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def serve(rooms_n: int) -> None:
    clock = _Clock()
    tg = TimedTelegram(clock)
    dc = TimedDiscord(clock)
    await tg.start()
    await dc.start()
    tg_bot = tg.add_bot("parley_bot")
    alice = tg.add_user("Alice", username="alice_tg")
    tg_admin = tg.add_user("Ada", username="ada_admin")
    guild = dc.add_guild("Parley")
    dc.add_member(guild, "bob")
    dc_admin = dc.add_member(guild, "dora")
    groups: list[FakeChat] = []
    rooms: list[dict[str, Any]] = []
    for i in range(rooms_n):
        group = tg.add_chat("supergroup", f"Room {i}", members=[alice], bots=[tg_bot])
        channel = dc.add_text_channel(guild, f"room-{i}")
        webhook = dc.add_webhook(channel.id)
        groups.append(group)
        rooms.append(
            {
                "telegram": group.id,
                "discord": channel.id,
                "webhook_id": webhook.id,
                "webhook_token": webhook.token,
            }
        )
    counter = itertools.count()
    pacers: set[asyncio.Task[None]] = set()

    def inject_one(i: int) -> str:
        text = f"bench-{next(counter):06d}"
        clock.injected[text] = time.monotonic()
        tg.user_sends(groups[i % rooms_n], alice, text)
        return text

    async def paced(texts_n: int, rate: float, first: int) -> None:
        start = time.monotonic()
        for i in range(texts_n):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            text = f"bench-{first + i:06d}"
            clock.injected[text] = time.monotonic()
            tg.user_sends(groups[i % rooms_n], alice, text)

    async def inject(request: web.Request) -> web.Response:
        body = await request.json()
        count, rate = int(body["count"]), body.get("rate")
        if rate is None:
            return web.json_response([inject_one(i) for i in range(count)])
        first = next(counter)
        for _ in range(count - 1):
            next(counter)
        task = asyncio.create_task(paced(count, float(rate), first))
        pacers.add(task)
        task.add_done_callback(pacers.discard)
        return web.json_response([f"bench-{first + i:06d}" for i in range(count)])

    async def wait(request: web.Request) -> web.Response:
        body = await request.json()
        texts: list[str] = body["texts"]
        try:
            async with asyncio.timeout(float(body.get("timeout", 300))):
                while not all(t in clock.discord for t in texts):
                    clock.changed.clear()
                    await clock.changed.wait()
        except TimeoutError:
            missing = sum(t not in clock.discord for t in texts)
            return web.json_response({"missing": missing}, status=504)
        return web.json_response({"missing": 0})

    async def report(request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response(
            {
                t: [clock.injected.get(t), clock.polled.get(t), clock.discord.get(t)]
                for t in body["texts"]
            }
        )

    app = web.Application()
    app.router.add_post("/inject", inject)
    app.router.add_post("/wait", wait)
    app.router.add_post("/report", report)
    app.router.add_get("/rss", _rss)
    app.router.add_get("/cpu", _cpu)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    control_port = int(runner.addresses[0][1])
    print(
        json.dumps(
            {
                "control_url": f"http://127.0.0.1:{control_port}",
                "telegram": {
                    "token": tg_bot.token,
                    "api_base_url": tg.base_url,
                    "file_base_url": tg.base_file_url,
                    "admin": tg_admin.id,
                },
                "discord": {
                    "token": dc.token,
                    "api_base_url": dc.api_base,
                    "gateway_url": dc.gateway_url,
                    "admin": dc_admin.id,
                },
                "rooms": rooms,
            }
        ),
        flush=True,
    )
    # Serve until the bench closes our stdin (or dies).
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.read)
    for task in list(pacers):
        task.cancel()
    await runner.cleanup()
    await dc.stop()
    await tg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rooms", type=int, default=1000)
    args = parser.parse_args()
    asyncio.run(serve(args.rooms))


if __name__ == "__main__":
    main()
