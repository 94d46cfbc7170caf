"""bridge.app: components start in order and stop in reverse; health covers each of them."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from bots.registry import PLATFORMS
from bridge.app import Bridge, KeyValueFormatter, setup_logging
from bridge.config import Settings, parse_config
from crypto.keys import generate_private_key


def settings_for(tmp_path: Path, **extra: dict[str, object]) -> Settings:
    raw: dict[str, object] = {
        "bridge": {"data_dir": "data"},
        "waku": {"rest_port": 0},
        "web": {"port": 0},
        **extra,
    }
    return parse_config(raw, base_dir=tmp_path, env={}, platforms=PLATFORMS)


class Recorder:
    def __init__(self, name: str, log: list[str], *, fail_start: bool = False) -> None:
        self.name = name
        self._log = log
        self._fail = fail_start
        self.up = False

    async def start(self) -> None:
        if self._fail:
            raise RuntimeError(f"{self.name} cannot start")
        self._log.append(f"start {self.name}")
        self.up = True

    async def stop(self) -> None:
        self._log.append(f"stop {self.name}")
        self.up = False

    def health(self) -> bool:
        return self.up


async def test_bridge_runs_components_in_order_and_serves_health(tmp_path: Path) -> None:
    events: list[str] = []
    bridge = Bridge(settings_for(tmp_path), generate_private_key())
    bridge.add_component(Recorder("router", events))
    # A factory sees the running core: the store is open and the node started.
    bridge.add_factory(lambda b: Recorder(f"outbox-{b.store.path.endswith('parley.db')}", events))

    def routes(app: web.Application) -> None:
        async def ping(_: web.Request) -> web.Response:
            return web.Response(text="pong")

        app.router.add_get("/ping", ping)

    bridge.add_routes(routes)
    async with bridge:
        assert [c.name for c in bridge.components] == [
            "store",
            "waku",
            "waku_rest",
            "router",
            "outbox-True",
            "web",
        ]
        assert bridge.web is not None and bridge.waku_rest is not None
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{bridge.web.url}/health") as response:
                assert response.status == 200
                body = await response.json()
            async with http.get(f"{bridge.web.url}/ping") as response:
                assert await response.text() == "pong"
            async with http.get(f"{bridge.waku_rest.url}/health") as response:
                assert response.status == 200
                assert (await response.json())["nodeHealth"] == "READY"
        assert body["status"] == "up"
        assert set(body["components"]) == {
            "store",
            "waku",
            "waku_rest",
            "router",
            "outbox-True",
            "web",
        }
        with pytest.raises(RuntimeError):
            bridge.add_component(Recorder("late", events))
    assert events == ["start router", "start outbox-True", "stop outbox-True", "stop router"]
    assert bridge.components == []
    assert (tmp_path / "data" / "parley.db").exists()


async def test_nwaku_mode_drives_a_rest_node(tmp_path: Path) -> None:
    # The embedded node's REST server stands in for nwaku: same API, same behaviour.
    async with Bridge(settings_for(tmp_path / "a"), generate_private_key()) as upstream:
        assert upstream.waku_rest is not None
        settings = settings_for(
            tmp_path / "b", waku={"mode": "nwaku", "nwaku_url": upstream.waku_rest.url}
        )
        async with Bridge(settings, generate_private_key()) as bridge:
            assert bridge.waku_rest is None
            assert [c.name for c in bridge.components] == ["store", "waku", "web"]
            report = await bridge.health_report()
            assert report["waku"].up
            assert report["waku"].detail.startswith(f"nwaku {upstream.waku_rest.url}")


async def test_health_turns_503_when_a_component_goes_down(tmp_path: Path) -> None:
    events: list[str] = []
    adapter = Recorder("telegram", events)
    bridge = Bridge(settings_for(tmp_path), generate_private_key())
    bridge.add_component(adapter)
    async with bridge:
        assert bridge.web is not None
        adapter.up = False
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{bridge.web.url}/health") as response,
        ):
            assert response.status == 503
            body = await response.json()
    assert body["components"]["telegram"] == {"status": "down"}
    assert body["components"]["store"] == {"status": "up"}


async def test_failed_start_stops_what_already_started(tmp_path: Path) -> None:
    events: list[str] = []
    bridge = Bridge(settings_for(tmp_path), generate_private_key())
    bridge.add_component(Recorder("first", events))
    bridge.add_component(Recorder("broken", events, fail_start=True))
    with pytest.raises(RuntimeError, match="broken cannot start"):
        await bridge.start()
    assert events == ["start first", "stop first"]
    assert bridge.components == []
    with pytest.raises(RuntimeError):
        _ = bridge.store


def test_log_lines_are_key_value_and_mask_secrets() -> None:
    stream = io.StringIO()
    setup_logging("INFO", secrets=["123456:ABC-token"], stream=stream)
    try:
        log = logging.getLogger("parley.test")
        log.info("GET https://api.telegram.org/bot123456:ABC-token/getMe", extra={"status": 200})
        log.debug("hidden")
        try:
            raise ValueError("bad token 123456:ABC-token")
        except ValueError:
            log.exception("failed", extra={"component": "telegram"})
    finally:
        logging.getLogger().handlers.clear()
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2  # one line per event, the traceback included
    assert "123456:ABC-token" not in stream.getvalue()
    assert 'msg="GET https://api.telegram.org/bot***/getMe"' in lines[0]
    assert " status=200" in lines[0]
    assert "level=INFO logger=parley.test" in lines[0]
    assert "component=telegram" in lines[1] and "exc=" in lines[1]


def test_formatter_ignores_short_secrets() -> None:
    # Masking every "a" would wreck the log without protecting anything.
    formatter = KeyValueFormatter(secrets=["a"])
    record = logging.makeLogRecord({"msg": "a cat", "levelname": "INFO", "name": "x"})
    assert 'msg="a cat"' in formatter.format(record)
