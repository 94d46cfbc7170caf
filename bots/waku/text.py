"""Text as Status shows it."""

from __future__ import annotations

from bridge.formatting import to_plain
from bridge.model import RichText

__all__ = ["to_status"]


def to_status(rt: RichText) -> str:
    return to_plain(rt)
