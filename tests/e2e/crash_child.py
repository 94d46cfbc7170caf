"""A bridge process for the crash test: ``python -m tests.e2e.crash_child CONFIG.json``.

The JSON file holds ``{"config": <raw config dict>, "identity_key": <hex>}``. The child builds
a real ``Bridge`` from it (the embedded Waku node inside, the platforms at the stand-ins the
test process runs), wires it with ``wire_features`` and the e2e test tuning (pacing off),
prints ``READY`` once every adapter is connected, and runs until killed (SIGTERM stops it
cleanly; SIGKILL is the point of the test).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

from bots.registry import PLATFORMS
from bridge.app import Bridge, wire_features
from bridge.config import parse_config
from tests.e2e.harness import test_tuning as e2e_tuning

os.environ.setdefault("PTB_TIMEDELTA", "1")


async def main(config_path: Path, spec: dict[str, Any]) -> None:
    settings = parse_config(
        spec["config"], base_dir=config_path.parent, env={}, platforms=PLATFORMS
    )
    bridge = Bridge(settings, bytes.fromhex(spec["identity_key"]))
    relay = wire_features(bridge, tuning=e2e_tuning(), platforms=PLATFORMS)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await bridge.start()
    try:
        async with asyncio.timeout(30):
            while not all(a.is_connected() for a in relay.adapters.values()):  # noqa: ASYNC110
                await asyncio.sleep(0.02)
        print("READY", flush=True)
        await stop.wait()
    finally:
        await bridge.stop()


if __name__ == "__main__":
    path = Path(sys.argv[1])
    asyncio.run(main(path, json.loads(path.read_text("utf-8"))))
