"""The one name cleaner (bridge.names) every platform uses."""

from __future__ import annotations

import pytest

from bridge.names import clean_name, clean_text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("Bob ✓", "Bob"),
        ("Bob\u2060 ✔️", "Bob"),  # word joiner, heavy check mark + VS16
        ("B\u200bo\ufeffb", "Bob"),  # zero-width space, BOM
        ("\u3164\u115f\u1160\uffa0", ""),  # Hangul fillers only: nothing visible
        ("\u2800Bob", "Bob"),  # braille blank
        ("Bob \u202eevil\u202c", "Bob evil"),  # bidi override
        ("\u2066Bob\u2069", "Bob"),  # isolates
        ("Bob ☑ ✅ 🗸 🗹 √ ✓⃝", "Bob"),
        ("Al\u00adice", "Alice"),  # soft hyphen
        ("a\u2028b\tc\n d", "a b c d"),
        ("👨\u200d👩\u200d👧 family", "👨\u200d👩\u200d👧 family"),  # joiner between emoji stays
        ("Bo\u200db", "Bob"),  # joiner between letters goes
    ],
)
def test_clean_name(raw: str, shown: str) -> None:
    assert clean_name(raw) == shown


def test_limit_and_text_keeps_marks() -> None:
    assert clean_name("x" * 100, 10) == "x" * 9 + "…"
    assert clean_text("done ✓\u2060") == "done ✓"
