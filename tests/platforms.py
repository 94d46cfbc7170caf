"""The platform index a real bridge builds (every registered platform), for unit tests of
features that read user and message references."""

from __future__ import annotations

from bots.registry import PLATFORMS
from bridge.platform_index import PlatformIndex

__all__ = ["INDEX"]

INDEX = PlatformIndex.of(PLATFORMS)
