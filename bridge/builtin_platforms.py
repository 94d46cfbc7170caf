"""The platforms still wired by hand in ``bridge.relay`` (they predate the registry), as the
traits the core asks of every platform. Only the Status/Waku room adapter is left: it moves into
its platform package's ``PlatformSpec`` (``bots/<platform>/``) with its factory, and this list
shrinks to nothing. Platforms that come in through the registry (``bots.registry``) are never
listed here.
"""

from __future__ import annotations

from bridge.platform_index import Traits

__all__ = ["BUILTIN"]

# Waku has no per-chat limit worth pacing for, and no syntax of its own for users or messages.
BUILTIN: tuple[Traits, ...] = (Traits("waku"),)
