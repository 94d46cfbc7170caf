"""Every platform the bridge can run, one line each. Adding a platform: write its package
under ``bots/`` (exporting a ``bridge.platforms.PlatformSpec``) and list it here."""

from __future__ import annotations

from bots.matrix import SPEC as MATRIX
from bridge.platforms import PlatformSpec

__all__ = ["PLATFORMS"]

PLATFORMS: tuple[PlatformSpec, ...] = (MATRIX,)
