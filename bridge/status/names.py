"""status-go's display-name rule (c72f491 ``common/utils.go`` ``ValidateDisplayName``).

status-go trims the name, accepts an empty one, and otherwise requires
``^[\\w-\\s]{5,24}$`` (Go's RE2: ``\\w`` and ``\\s`` are ASCII-only), no ``_eth``/``.eth``/
``-eth`` ending, and that it is not a generated three-word alias (``alias.IsAlias``; the word
lists are in ``bridge.status.alias_words``). A ChatMessage whose ``display_name`` fails is
dropped by every Status client.
"""

from __future__ import annotations

import re

from bridge.status.alias_words import ADJECTIVES, ANIMALS

__all__ = ["display_name_problem", "is_alias", "valid_display_name"]

_RULE = re.compile(r"[\w\-\t\n\f\r ]{5,24}", re.ASCII)
_ETH_SUFFIXES = ("_eth", ".eth", "-eth")
# Go's unicode.IsSpace, which strings.TrimSpace uses.
_GO_SPACE = (
    " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _go_title(word: str) -> str:
    # strings.Title upper-cases the first letter of each word and keeps the rest; list words
    # contain no separators, so only the first letter can matter for a match.
    return word[:1].upper() + word[1:]


def is_alias(name: str) -> bool:
    """status-go ``alias.IsAlias``: three fields, adjective, adjective, animal (title-cased)."""
    parts = name.split()
    return (
        len(parts) == 3
        and _go_title(parts[0]) in ADJECTIVES
        and _go_title(parts[1]) in ADJECTIVES
        and _go_title(parts[2]) in ANIMALS
    )


def display_name_problem(name: str) -> str | None:
    """Why status-go would refuse ``name`` as a display name, or None if it accepts it."""
    trimmed = name.strip(_GO_SPACE)
    if not trimmed:
        return None
    if not _RULE.fullmatch(trimmed):
        return (
            "Status accepts only 5 to 24 letters, digits, underscores, hyphens and spaces "
            f"(^[\\w-\\s]{{5,24}}$); {trimmed[:40]!r} is not"
        )
    if trimmed.endswith(_ETH_SUFFIXES):
        return "Status refuses display names ending with _eth, .eth or -eth"
    if is_alias(trimmed):
        return (
            f"{trimmed!r} has the form of a Status generated alias (adjective adjective animal), "
            "which Status refuses as a display name; pick another name"
        )
    return None


def valid_display_name(name: str) -> bool:
    return display_name_problem(name) is None
