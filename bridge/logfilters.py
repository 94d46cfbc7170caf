"""Logging filters installed on the root handlers by ``setup_logging``.

``RedactFilter`` removes secrets from every record at every level, whichever library logged
it: besides the configured secret values it knows the *shapes* of the secrets that are made at
run time or come from elsewhere (one-time link tokens, Discord webhook and interaction tokens,
bot tokens, bearer tokens), because discord.py and python-telegram-bot log request URLs and
payloads at DEBUG.

``RepeatFilter`` keeps a storm of one log line (a socket error per accepted connection, a
failing peer retried in a loop) from filling the disk: past a burst, repeats of the same line
are counted instead of written, and the next one written after the window says how many were
left out.
"""

from __future__ import annotations

import logging
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Final

__all__ = ["RedactFilter", "RepeatFilter", "redact"]

MASK: Final = "***"

# (pattern, replacement): each keeps what is needed to read the line and drops the secret.
_SHAPES: Final[tuple[tuple[re.Pattern[str], str], ...]] = (
    # One-time wallet-link URLs: /link/<token> and /api/link/<token>.
    (re.compile(r"(/link/)[A-Za-z0-9_\-]{8,}"), rf"\1{MASK}"),
    # Discord webhook and interaction URLs: /webhooks/<id>/<token>, /interactions/<id>/<token>.
    (re.compile(r"(/(?:webhooks|interactions)/\d+/)[A-Za-z0-9_.\-]{8,}"), rf"\1{MASK}"),
    # Telegram bot tokens, bare or inside a Bot API URL (…/bot<id>:<secret>/getMe).
    (re.compile(r"(?<![0-9])\d{5,}:[A-Za-z0-9_\-]{30,}"), MASK),
    # Discord bot tokens: base64(user id).timestamp.hmac.
    (re.compile(r"[A-Za-z0-9_\-]{23,}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,}"), MASK),
    # Authorization values: "Bearer <token>" anywhere, "Bot <token>" in an Authorization header.
    (re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}"), rf"\1{MASK}"),
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?bot\s+)[^\s'\",}]+"), rf"\1{MASK}"),
    # A "token" field in JSON or a Python repr (a created webhook, an interaction payload).
    (
        re.compile(r"""(?i)(["']?(?:token|access_token|rest_token)["']?\s*[:=]\s*["'])[^"']{4,}"""),
        rf"\1{MASK}",
    ),
)

_STANDARD_FIELDS: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def redact(text: str, known: Iterable[str] = ()) -> str:
    """``text`` with every known secret value and every secret-shaped string masked."""
    for secret in known:
        text = text.replace(secret, MASK)
    for pattern, replacement in _SHAPES:
        text = pattern.sub(replacement, text)
    return text


class RedactFilter(logging.Filter):
    """Masks secrets in a record's message, arguments, extra fields and traceback (in place,
    so every handler after this one sees the masked record)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so that a secret containing another is masked whole.
        self._known = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def _redact(self, text: str) -> str:
        return redact(text, self._known)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: show what was given rather than drop it
            message = f"{record.msg!r} % {record.args!r}"
        record.msg, record.args = self._redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        for key, value in list(vars(record).items()):
            if key not in _STANDARD_FIELDS and isinstance(value, str):
                setattr(record, key, self._redact(value))
        return True


class RepeatFilter(logging.Filter):
    """Lets ``burst`` records of one kind through per ``window`` seconds and counts the rest.

    "One kind" is the logger, level, call site and message template (not its arguments), so a
    line repeated with a different peer address each time is still one storm. The first record
    of a kind written after a window with suppressed records carries the count.
    """

    def __init__(
        self,
        *,
        burst: int = 10,
        window: float = 60.0,
        max_kinds: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._burst = burst
        self._window = window
        self._max_kinds = max_kinds
        self._clock = clock
        # kind -> [window start, records in this window, suppressed so far]
        self._kinds: OrderedDict[tuple[object, ...], list[float]] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        kind = (record.name, record.levelno, record.pathname, record.lineno, str(record.msg))
        now = self._clock()
        state = self._kinds.get(kind)
        if state is None:
            state = [now, 0.0, 0.0]
            self._kinds[kind] = state
            if len(self._kinds) > self._max_kinds:
                self._kinds.popitem(last=False)
        else:
            self._kinds.move_to_end(kind)
        if now - state[0] >= self._window:
            suppressed = int(state[2])
            state[0], state[1], state[2] = now, 0.0, 0.0
            if suppressed:
                state[1] = 1.0
                record.msg = (
                    f"{record.getMessage()} "
                    f"[{suppressed} similar line(s) suppressed in the last {self._window:g} s]"
                )
                record.args = None
                return True
        if state[1] < self._burst:
            state[1] += 1
            return True
        state[2] += 1
        return False
