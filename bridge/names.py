"""The one cleaner for names shown to people: display names, usernames, file names, titles.

Every adapter and feature that shows a name from outside runs it through here, so that a name
looks the same (and is as safe) on every platform:

- control characters (Cc) become a space; format and other invisible characters go (Cf, Cs,
  Co, Cn):
  zero-width space/joiners, word joiner U+2060, BOM U+FEFF, soft hyphen, bidi embeddings,
  overrides and isolates, the Mongolian vowel separator, interlinear annotations ...;
- invisible letters that render as blank space go too: the Hangul fillers (U+115F, U+1160,
  U+3164, U+FFA0), the braille blank U+2800 and the Khmer inherent vowels (U+17B4, U+17B5);
- any run of white space becomes one space, and the ends are trimmed;
- ``clean_name`` also removes the bridge's "verified" mark and everything that looks like it
  (✓ ✔ ☑ ✅ 🗸 🗹 √ ...), so that only the bridge itself can put one next to a name.

A zero-width joiner between two emoji is kept: it is how family and profession emoji are
written, and it cannot hide a letter there.
"""

from __future__ import annotations

import functools
import unicodedata
from typing import Final

__all__ = ["CHECK_MARKS", "clean_name", "clean_text"]

CHECK_MARKS: Final[frozenset[str]] = frozenset(
    {
        "\u2713",  # ✓ CHECK MARK
        "\u2714",  # ✔ HEAVY CHECK MARK
        "\u2705",  # ✅ WHITE HEAVY CHECK MARK
        "\u2611",  # ☑ BALLOT BOX WITH CHECK
        "\u237b",  # ⍻ NOT CHECK MARK
        "\u221a",  # √ SQUARE ROOT
        "\U0001f5f8",  # 🗸 LIGHT CHECK MARK
        "\U0001f5f9",  # 🗹 BALLOT BOX WITH BOLD CHECK
        "\U0001fbb1",  # 🮱 INVERSE CHECK MARK
        "\U00010102",  # 𐄂 AEGEAN CHECK MARK
    }
)
"""The bridge's verified mark and its look-alikes: never part of a cleaned name."""

_DROPPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_BLANK_LETTERS: Final = frozenset(
    {"\u115f", "\u1160", "\u3164", "\uffa0", "\u2800", "\u17b4", "\u17b5"}
)
_ZWJ: Final = "\u200d"
# Variation selectors and combining marks that would dangle once a check mark is removed.
_VS16: Final = "\ufe0f"
_VS15: Final = "\ufe0e"
_COMBINING_ENCLOSING: Final = frozenset({"\u20dd", "\u20de", "\u20e3"})


def _is_emoji(char: str) -> bool:
    return unicodedata.category(char) in ("So", "Sk") or char == _VS16


def _shown(text: str, i: int) -> str:
    """What ``text[i]`` becomes: itself, " " (white space and control characters, which
    separate words), or "" (invisible)."""
    char = text[i]
    if char in _BLANK_LETTERS:
        return ""
    if char.isspace():
        return " "  # line and paragraph separators too
    category = unicodedata.category(char)
    if category == "Cc":
        return " "
    if category not in _DROPPED_CATEGORIES:
        return char
    if char == _ZWJ and 0 < i < len(text) - 1 and _is_emoji(text[i - 1]) and _is_emoji(text[i + 1]):
        return char
    return ""


def clean_text(text: str, limit: int | None = None) -> str:
    """``text`` as one line of visible characters, at most ``limit`` code points (then "…")."""
    cleaned = " ".join("".join(_shown(text, i) for i in range(len(text))).split())
    if limit is not None and len(cleaned) > limit:
        cleaned = cleaned[: max(0, limit - 1)].rstrip() + "…"
    return cleaned


def _without_marks(text: str) -> str:
    out: list[str] = []
    skip_modifiers = False
    for char in text:
        if char in CHECK_MARKS:
            skip_modifiers = True
            continue
        if skip_modifiers and (
            char in (_VS15, _VS16)
            or char in _COMBINING_ENCLOSING
            or unicodedata.category(char) == "Mn"
        ):
            continue
        skip_modifiers = False
        out.append(char)
    return "".join(out)


def clean_name(name: str, limit: int | None = None) -> str:
    """A display name safe to show anywhere: :func:`clean_text` without any check mark.

    May return "" (a name made only of invisible characters or marks); the caller picks the
    fallback ("someone", the user id ...).
    """
    if len(name) > _MEMO_MAX_LENGTH:
        return _clean_name(name, limit)
    # The same few authors' names are cleaned several times for every relayed message, a
    # character at a time: remembered (short names only, so that the memo stays small).
    return _clean_name_memo(name, limit)


def _clean_name(name: str, limit: int | None) -> str:
    # Marks first, then the cleaning: a mark hidden behind a zero-width character must go too,
    # and removing a mark must not leave two spaces behind.
    return clean_text(_without_marks(clean_text(name)), limit)


_MEMO_MAX_LENGTH: Final = 128
_clean_name_memo = functools.lru_cache(maxsize=4096)(_clean_name)
