"""A text copy through a channel's webhook, posted straight on the webhook's aiohttp session.

The bridge's most frequent Discord call is a webhook execution with text only. discord.py's
``Webhook.send`` routes it through its generic request machinery and builds a full
``WebhookMessage`` (author, state, caches) from the answer, of which the bridge keeps the id:
at 1,000 rooms that was about a tenth of the bridge's event-loop CPU (py-spy, ``bench/relay.py
--fakes``). Here the same JSON body goes out on the same session (proxy included), the answer's
id is read, and failures raise the exceptions discord.py raises (``HTTPException``,
``NotFound``, ``Forbidden``, ``DiscordServerError``), so that they are classified as every
other Discord failure is (``DiscordState.errors``). Files still go through discord.py.

Rate limits and failures are handled as discord.py handles a webhook request: an answer that
says the webhook's bucket is spent (``X-RateLimit-Remaining: 0``) holds its next execution until
``X-RateLimit-Reset-After`` has passed; a 429 from Discord's limiter (it has a ``Via`` header)
is waited out and tried again, one without (a Cloudflare ban) is raised with its
``Retry-After`` for the outbox; a 5xx is tried again after 1, 3, 5, 7 s; five attempts in all.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, Final

import aiohttp
import discord
import discord.http
import yarl

__all__ = ["WebhookSender"]

# Discord's own bound on a bucket's reset is seconds; more than this is a broken header.
_MAX_HOLD: Final = 60.0
_MAX_ANSWER: Final = 1 << 20  # a message object is a few KiB
_ATTEMPTS: Final = 5  # as discord.py's webhook requests
_NO_MENTIONS: Final = discord.AllowedMentions.none().to_dict()
_MAX_URLS: Final = 10_000  # one per webhook; more means webhooks come and go: start over


class WebhookSender:
    """Executes webhooks with text; remembers which webhooks' buckets are spent."""

    def __init__(self) -> None:
        self._held: dict[int, float] = {}  # webhook id -> monotonic time its bucket resets
        # aiohttp parses a URL given as text, query included, on every request.
        self._urls: dict[tuple[str, int, str], yarl.URL] = {}

    async def send_text(
        self,
        webhook: discord.Webhook,
        *,
        content: str,
        username: str,
        avatar_url: str | None,
    ) -> int:
        """Post ``content`` as ``username`` (with ``avatar_url``), mentioning nobody; returns
        the new message's id."""
        if webhook.token is None:
            raise ValueError("a webhook without a token cannot be executed")
        await self._wait_for_bucket(webhook.id)
        # The body discord.py's Webhook.send makes of the same arguments (tests compare them).
        payload: dict[str, Any] = {"content": content, "tts": False}
        if avatar_url:
            payload["avatar_url"] = avatar_url
        payload["username"] = username
        payload["allowed_mentions"] = _NO_MENTIONS
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()
        url = self._url(webhook.id, webhook.token)
        for attempt in range(_ATTEMPTS):
            async with webhook.session.post(
                url,
                data=body,
                headers={"Content-Type": "application/json"},
                proxy=webhook.proxy,
                proxy_auth=webhook.proxy_auth,
            ) as response:
                data = await _answer(response)
                self._note_bucket(webhook.id, response)
                if 200 <= response.status < 300:
                    return _message_id(data)
                last = _failure(response, data)
                if response.status == 429 and response.headers.get("Via"):
                    # Discord's own limiter (a Cloudflare ban has no Via): wait and try again.
                    await asyncio.sleep(_retry_after(data))
                    continue
                if response.status >= 500 and attempt < _ATTEMPTS - 1:
                    await asyncio.sleep(1 + attempt * 2)
                    continue
                raise last
        raise last

    def _url(self, webhook_id: int, token: str) -> yarl.URL:
        key = (discord.http.Route.BASE, webhook_id, token)
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= _MAX_URLS:
                self._urls.clear()
            url = yarl.URL(f"{key[0]}/webhooks/{webhook_id}/{token}").with_query(wait="true")
            self._urls[key] = url
        return url

    async def _wait_for_bucket(self, webhook_id: int) -> None:
        until = self._held.get(webhook_id)
        if until is None:
            return
        delay = until - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        self._held.pop(webhook_id, None)

    def _note_bucket(self, webhook_id: int, response: aiohttp.ClientResponse) -> None:
        if response.status == 429 or response.headers.get("X-RateLimit-Remaining") != "0":
            return
        try:
            reset_after = float(response.headers.get("X-RateLimit-Reset-After", ""))
        except ValueError:
            return
        if 0 < reset_after <= _MAX_HOLD:
            self._held[webhook_id] = time.monotonic() + reset_after


async def _answer(response: aiohttp.ClientResponse) -> dict[str, Any] | str:
    """The answer's JSON object, or its text (what discord.py's exceptions take)."""
    chunks: list[bytes] = []
    size = 0
    while chunk := await response.content.read(_MAX_ANSWER + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > _MAX_ANSWER:
            raise discord.HTTPException(response, "the answer is too large")
    text = b"".join(chunks).decode("utf-8", "replace")
    if response.content_type == "application/json":
        try:
            data = json.loads(text)
        except ValueError:
            return text
        if isinstance(data, dict):
            return data
    return text


def _failure(response: aiohttp.ClientResponse, data: dict[str, Any] | str) -> Exception:
    if response.status == 404:
        return discord.NotFound(response, data)
    if response.status == 403:
        return discord.Forbidden(response, data)
    if response.status >= 500:
        return discord.DiscordServerError(response, data)
    return discord.HTTPException(response, data)


def _retry_after(data: dict[str, Any] | str) -> float:
    raw = data.get("retry_after") if isinstance(data, dict) else None
    if isinstance(raw, int | float) and 0 <= raw <= _MAX_HOLD:
        return float(raw)
    return 1.0


def _message_id(data: dict[str, Any] | str) -> int:
    """The id of the message an execution with ``wait=true`` answered with."""
    raw = data.get("id") if isinstance(data, dict) else None
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 20:
        return int(raw)
    # Posted or not, Discord did not say: the outbox treats it as in doubt.
    raise aiohttp.ClientPayloadError("Discord's answer to a webhook execution has no message id")
