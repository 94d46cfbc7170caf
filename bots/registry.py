"""Every platform the bridge can run, one line each. Adding a platform: write its package
under ``bots/`` (exporting a ``bridge.platforms.PlatformSpec``) and list it here."""

from __future__ import annotations

from bots.discord import SPEC as DISCORD
from bots.matrix import SPEC as MATRIX
from bots.telegram import SPEC as TELEGRAM
from bots.waku import SPEC as WAKU
from bridge.platforms import PlatformSpec

__all__ = ["PLATFORMS"]

PLATFORMS: tuple[PlatformSpec, ...] = (TELEGRAM, DISCORD, MATRIX, WAKU)
