"""status-go's display-name rule (c72f491 ``common/utils.go`` ``ValidateDisplayName``).

status-go trims the name, accepts an empty one, and otherwise requires
``^[\\w-\\s]{5,24}$`` (Go's RE2: ``\\w`` and ``\\s`` are ASCII-only) and no ``_eth``/``.eth``/
``-eth`` ending. A ChatMessage whose ``display_name`` fails is dropped by every Status client.
(status-go also refuses generated three-word aliases; that needs its word list and is left out.)
"""

from __future__ import annotations

import re

__all__ = ["display_name_problem", "valid_display_name"]

_RULE = re.compile(r"[\w\-\t\n\f\r ]{5,24}", re.ASCII)
_ETH_SUFFIXES = ("_eth", ".eth", "-eth")


def display_name_problem(name: str) -> str | None:
    """Why status-go would refuse ``name`` as a display name, or None if it accepts it."""
    trimmed = name.strip(" \t\n\v\f\r")
    if not trimmed:
        return None
    if not _RULE.fullmatch(trimmed):
        return (
            "Status accepts only 5 to 24 letters, digits, underscores, hyphens and spaces "
            f"(^[\\w-\\s]{{5,24}}$); {trimmed[:40]!r} is not"
        )
    if trimmed.endswith(_ETH_SUFFIXES):
        return "Status refuses display names ending with _eth, .eth or -eth"
    return None


def valid_display_name(name: str) -> bool:
    return display_name_problem(name) is None
