"""A bridge process for the crash test: ``python -m tests.e2e.crash_child CONFIG.json``.

The JSON file holds ``{"config": <raw config dict>, "identity_key": <hex>}``. The child builds
a real ``Bridge`` from it (the embedded Waku node inside, the platforms at the stand-ins the
test process runs), wires it with ``wire_features`` and the e2e test tuning (pacing off),
prints ``READY`` once every adapter is connected, and runs until killed (SIGTERM stops it
cleanly; SIGKILL is the point of the test). With ``PARLEY_TEST_KILL_AT_PUBLISH=N`` in its
environment the child sends itself SIGKILL as its N-th Waku publish begins, for a kill at an
exact point of a send.
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
from bridge.waku.embedded import EmbeddedNode
from bridge.waku.message import WakuMessage
from tests.e2e.harness import test_tuning as e2e_tuning

os.environ.setdefault("PTB_TIMEDELTA", "1")


def _kill_at_publish(n: int) -> None:
    """Fault injection: the process dies (SIGKILL, no cleanup) as its ``n``-th publish begins."""
    publish = EmbeddedNode.publish
    count = 0

    async def dying(self: EmbeddedNode, pubsub_topic: str, message: WakuMessage) -> bytes:
        nonlocal count
        count += 1
        if count == n:
            os.kill(os.getpid(), signal.SIGKILL)
        return await publish(self, pubsub_topic, message)

    EmbeddedNode.publish = dying  # type: ignore[method-assign]


async def main(config_path: Path, spec: dict[str, Any]) -> None:
    kill_at = os.environ.get("PARLEY_TEST_KILL_AT_PUBLISH")
    if kill_at:
        _kill_at_publish(int(kill_at))
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
