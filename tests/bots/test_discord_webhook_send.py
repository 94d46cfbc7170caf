"""The text-only webhook execution that bypasses discord.py's ``Webhook.send``: it must post the
very body discord.py posts, and fail, wait and retry as discord.py's webhook requests do."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest
from aiohttp import web

from bots.discord.webhook_send import WebhookSender
from tests.fakes.discord import FakeDiscord


@pytest.fixture
async def fake() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    guild = fake.add_guild("Parley")
    fake.add_text_channel(guild, "general")
    async with fake.running():
        yield fake


def _channel(fake: FakeDiscord) -> int:
    return next(iter(fake.channels))


async def test_the_body_is_what_discord_py_posts(fake: FakeDiscord) -> None:
    hook = fake.add_webhook(_channel(fake))
    async with aiohttp.ClientSession() as session:
        webhook = discord.Webhook.partial(hook.id, hook.token, session=session)
        for avatar in ("https://example.org/a.png", None):
            await webhook.send(
                content="hi <@1> **there**",
                username="Alice (telegram)",
                avatar_url=avatar if avatar is not None else discord.utils.MISSING,
                allowed_mentions=discord.AllowedMentions.none(),
                wait=True,
            )
            theirs = fake.webhook_executions[-1].payload
            message_id = await WebhookSender().send_text(
                webhook, content="hi <@1> **there**", username="Alice (telegram)", avatar_url=avatar
            )
            ours = fake.webhook_executions[-1]
            assert ours.payload == theirs
            assert ours.message is not None and int(ours.message["id"]) == message_id


async def test_failures_raise_what_discord_py_raises(fake: FakeDiscord) -> None:
    hook = fake.add_webhook(_channel(fake))
    async with aiohttp.ClientSession() as session:
        webhook = discord.Webhook.partial(hook.id, hook.token, session=session)
        sender = WebhookSender()

        async def send() -> int:
            return await sender.send_text(webhook, content="x", username="A", avatar_url=None)

        fake.fail_next("POST /webhooks/*", 403, body={"message": "Missing Access", "code": 50001})
        with pytest.raises(discord.Forbidden) as forbidden:
            await send()
        assert forbidden.value.code == 50001
        fake.fail_next("POST /webhooks/*", 429, retry_after=3, via=False)  # a Cloudflare ban
        with pytest.raises(discord.HTTPException) as banned:
            await send()
        assert banned.value.status == 429
        assert banned.value.response.headers["Retry-After"] == "3"
        # Discord's own limiter: waited out and tried again within the call, as discord.py does.
        fake.fail_next("POST /webhooks/*", 429, retry_after=0.01)
        await send()
        fake.fail_next("POST /webhooks/*", 502)
        await send()  # tried again after a second
        statuses = [c.status for c in fake.requests("POST /webhooks/*")]
        assert statuses == [403, 429, 429, 200, 502, 200]
        fake.webhooks.clear()
        with pytest.raises(discord.NotFound):
            await send()


async def _server(handler: Any) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/webhooks/{id}/{token}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def test_a_spent_bucket_holds_the_next_execution(monkeypatch: pytest.MonkeyPatch) -> None:
    arrivals: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        arrivals.append(time.monotonic())
        headers = {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.3"}
        return web.json_response({"id": str(1000 + len(arrivals))}, headers=headers)

    runner, base = await _server(handler)
    monkeypatch.setattr(discord.http.Route, "BASE", base)
    try:
        async with aiohttp.ClientSession() as session:
            webhook = discord.Webhook.partial(123456789012345678, "tok", session=session)
            sender = WebhookSender()
            ids = [
                await sender.send_text(webhook, content="x", username="A", avatar_url=None)
                for _ in range(2)
            ]
        assert ids == [1001, 1002]
        assert arrivals[1] - arrivals[0] >= 0.3  # not before the bucket resets
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(
    "answer",
    [{"content": "no id"}, {"id": "12abc"}, {"id": "9" * 21}, ["not", "an", "object"]],
)
async def test_an_answer_without_a_message_id_is_an_error(
    answer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(answer)

    runner, base = await _server(handler)
    monkeypatch.setattr(discord.http.Route, "BASE", base)
    try:
        async with aiohttp.ClientSession() as session:
            webhook = discord.Webhook.partial(123456789012345678, "tok", session=session)
            with pytest.raises(aiohttp.ClientPayloadError):
                await WebhookSender().send_text(webhook, content="x", username="A", avatar_url=None)
    finally:
        await runner.cleanup()


async def test_an_oversized_answer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"id": "1", "pad": "x" * (2 << 20)})

    runner, base = await _server(handler)
    monkeypatch.setattr(discord.http.Route, "BASE", base)
    try:
        async with aiohttp.ClientSession() as session:
            webhook = discord.Webhook.partial(123456789012345678, "tok", session=session)
            with pytest.raises(discord.HTTPException):
                await asyncio.wait_for(
                    WebhookSender().send_text(webhook, content="x", username="A", avatar_url=None),
                    10,
                )
    finally:
        await runner.cleanup()
