"""The ``parley`` command's entry point: the core CLI with the registered platforms."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from bots.registry import PLATFORMS
from bridge.cli import main as bridge_main

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    return bridge_main(argv, platforms=PLATFORMS)


if __name__ == "__main__":
    sys.exit(main())
