"""Token amounts: strict parsing of what a chat user typed, and display with decimals.

Amounts travel as integers of base units (wei for ETH); ``Decimal`` is used only at the edges.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

__all__ = ["MAX_UNITS", "MAX_WHOLE", "AmountError", "format_amount", "parse_amount"]

# Plain decimal notation only: no sign, exponent, separators, NaN or Infinity.
_AMOUNT = re.compile(r"^(?:[0-9]{1,40}(?:\.[0-9]{0,80})?|\.[0-9]{1,80})$", re.ASCII)
MAX_WHOLE = 10**12
"""The largest amount accepted in whole tokens: anything above is a typo, not a tip."""
MAX_UNITS = 2**256 - 1


class AmountError(ValueError):
    """The amount is malformed or out of range; the message is fit for the user."""


def parse_amount(text: str, decimals: int, symbol: str) -> int:
    """``"0.01"`` with 18 decimals -> ``10**16``; raises ``AmountError`` with a clear message."""
    if not 0 <= decimals <= 77:
        raise AmountError(f"{symbol} reports {decimals} decimals, which no real token has")
    cleaned = text.strip()
    if not _AMOUNT.match(cleaned):
        raise AmountError(
            f"{text[:40]!r} is not an amount: write a plain positive number such as 0.01"
        )
    value = Decimal(cleaned)
    if value == 0:
        raise AmountError("The amount must be more than zero.")
    if value > MAX_WHOLE:
        raise AmountError(f"{cleaned} {symbol} is more than the bridge accepts in one tip.")
    fraction = cleaned.partition(".")[2].rstrip("0")
    if len(fraction) > decimals:
        raise AmountError(
            f"{symbol} has {decimals} decimal places; {cleaned} has {len(fraction)}."
            if decimals
            else f"{symbol} cannot be split: give a whole number."
        )
    with localcontext() as ctx:
        ctx.prec = 200
        units = int(value.scaleb(decimals))
    if not 0 < units <= MAX_UNITS:
        raise AmountError(f"{cleaned} {symbol} does not fit a uint256.")
    return units


def format_amount(units: int, decimals: int) -> str:
    """``10**16`` with 18 decimals -> ``"0.01"`` (no exponent, no trailing zeros)."""
    if decimals <= 0:
        return str(units)
    whole, fraction = divmod(units, 10**decimals)
    frac = str(fraction).rjust(decimals, "0").rstrip("0")
    return f"{whole}.{frac}" if frac else str(whole)
