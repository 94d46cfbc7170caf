"""The log filters: repeated lines collapse with a count; secret shapes are masked."""

from __future__ import annotations

import io
import logging

from bridge.app import KeyValueFormatter
from bridge.logfilters import RedactFilter, RepeatFilter, redact


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _logger(name: str, *filters: logging.Filter) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(KeyValueFormatter())
    for f in filters:
        handler.addFilter(f)
    logger = logging.getLogger(name)
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, out


def test_a_storm_of_one_line_is_collapsed_with_a_count() -> None:
    clock = _Clock()
    log, out = _logger("test.repeat", RepeatFilter(burst=3, window=10.0, clock=clock))

    def storm(peers: range) -> None:
        for i in peers:
            log.error("accept failed for peer %d", i)

    storm(range(10_000))
    log.warning("something else")
    lines = out.getvalue().splitlines()
    assert len(lines) == 4  # the burst of three, and the other line
    clock.now = 11.0
    storm(range(10_001, 10_002))
    last = out.getvalue().splitlines()[-1]
    assert "accept failed for peer 10001" in last
    assert "9997 similar line(s) suppressed in the last 10 s" in last


def test_redact_filter_masks_messages_arguments_and_tracebacks() -> None:
    log, out = _logger("test.redact", RedactFilter(["configured-secret-value"]))
    token = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw4"
    log.debug("GET %s", f"https://api.telegram.org/bot{token}/getMe")
    log.debug("payload %r", {"token": "webhooktoken123", "x": "configured-secret-value"})
    try:
        raise ValueError("https://discord.com/api/webhooks/12345678/abcdefghijk failed")
    except ValueError:
        log.exception("webhook send failed")
    log.info("link", extra={"url": "https://b.example/link/AbCdEfGhIjKlMnOp"})
    text = out.getvalue()
    for secret in (token, "webhooktoken123", "configured-secret-value", "abcdefghijk", "AbCdEfGh"):
        assert secret not in text
    assert "/webhooks/12345678/***" in text and "/link/***" in text


def test_plain_words_are_left_alone() -> None:
    line = "Telegram bot parley_bot started; token bucket refilled; Bearer of news"
    assert redact(line) == line
