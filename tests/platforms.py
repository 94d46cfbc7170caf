"""The platform index a real bridge builds (every registered platform plus the hand-wired Waku
rooms), for unit tests of features that read user and message references."""

from __future__ import annotations

from bots.registry import PLATFORMS
from bridge.builtin_platforms import BUILTIN
from bridge.platform_index import PlatformIndex

__all__ = ["INDEX"]

INDEX = PlatformIndex.of(PLATFORMS, BUILTIN)
