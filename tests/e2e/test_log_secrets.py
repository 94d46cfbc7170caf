"""No secret reaches the log at any level: the whole bridge at DEBUG, through the real
python-telegram-bot, discord.py and aiohttp, with the log captured as ``parley run`` writes it.

``setup_logging`` gets no configured secret values here, so what is masked is masked by shape
(the filter must know link tokens, webhook tokens and bot tokens without being told them).
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bridge.app import setup_logging
from tests.e2e.harness import TIMEOUT, running_bridge


@contextmanager
def _captured_debug_log() -> Iterator[io.StringIO]:
    root = logging.getLogger()
    saved_handlers, saved_level = list(root.handlers), root.level
    httpx_level = logging.getLogger("httpx").level
    out = io.StringIO()
    setup_logging("DEBUG", stream=out)
    try:
        yield out
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved_handlers:
            root.addHandler(handler)
        root.setLevel(saved_level)
        logging.getLogger("httpx").setLevel(httpx_level)


async def test_debug_log_holds_no_link_webhook_or_bot_token(tmp_path: Path) -> None:
    with _captured_debug_log() as out:
        async with running_bridge(
            tmp_path, configure=lambda raw: raw["bridge"].update(log_level="DEBUG")
        ) as h:
            h.tg.user_starts_bot(h.alice)
            h.tg.user_sends(h.tg_group, h.alice, "/link")
            dm = await h.tg.wait_for_sent(
                lambda m: "/link/" in m.content, TIMEOUT, chat=h.tg.private_chat(h.alice)
            )
            link_token = re.search(r"/link/([A-Za-z0-9_\-]+)", dm.content)
            assert link_token is not None
            # A relayed message goes out through the webhook (its URL holds the token).
            h.tg.user_sends(h.tg_group, h.alice, "through the webhook")
            await h.dc_copy("through the webhook")
            h.dc.user_sends(h.channel.id, h.bob, "and back to telegram")
            await h.tg_copy("and back to telegram")
            await h.settle()
            secrets = {
                "link token": link_token.group(1),
                "webhook token": h.webhook.token,
                "telegram bot token": h.tg_bot.token,
                "discord bot token": h.dc.token,
            }
    log = out.getvalue()
    for what, secret in secrets.items():
        assert secret not in log, f"the {what} is in the log"
    # The libraries did log the requests that carried these secrets (else this proves nothing).
    assert "level=DEBUG" in log
    assert "/link/***" in log
    assert f"/webhooks/{h.webhook.id}/***" in log
