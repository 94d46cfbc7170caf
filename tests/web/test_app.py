"""bridge.web.app: /health reflects every component, /metrics speaks Prometheus text."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bridge.config import Settings
from bridge.metrics import Metrics
from bridge.web import METRICS_KEY, ComponentStatus, create_web_app


class Health:
    def __init__(self) -> None:
        self.report: dict[str, ComponentStatus] = {
            "store": ComponentStatus(True),
            "waku": ComponentStatus(True, "embedded"),
        }

    async def __call__(self) -> Mapping[str, ComponentStatus]:
        return self.report


def hello_routes(app: web.Application) -> None:
    async def hello(request: web.Request) -> web.Response:
        request.app[METRICS_KEY].messages_in.labels(platform="web").inc()
        return web.Response(text="hello")

    app.router.add_get("/hello", hello)


@pytest.fixture
def health() -> Health:
    return Health()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def client(
    health: Health, metrics: Metrics
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = create_web_app(
        settings=Settings(), metrics=metrics, health=health, registrars=[hello_routes]
    )
    async with TestClient(TestServer(app, host="127.0.0.1", port=0)) as test_client:
        yield test_client


async def test_health_is_200_when_everything_is_up(
    client: TestClient[web.Request, web.Application],
) -> None:
    response = await client.get("/health")
    assert response.status == 200
    assert await response.json() == {
        "status": "up",
        "name": "parley",
        "components": {
            "store": {"status": "up"},
            "waku": {"status": "up", "detail": "embedded"},
        },
    }


async def test_health_is_503_when_one_part_is_down(
    client: TestClient[web.Request, web.Application], health: Health, metrics: Metrics
) -> None:
    health.report["telegram"] = ComponentStatus(False, "getUpdates failing")
    response = await client.get("/health")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "down"
    assert body["components"]["telegram"] == {"status": "down", "detail": "getUpdates failing"}
    assert body["components"]["store"] == {"status": "up"}
    # The check also records each component's state as a metric.
    text = metrics.render().decode()
    assert 'component_up{component="telegram"} 0.0' in text
    assert 'component_up{component="store"} 1.0' in text


async def test_health_with_no_components_is_down(
    client: TestClient[web.Request, web.Application], health: Health
) -> None:
    health.report = {}
    response = await client.get("/health")
    assert response.status == 503


async def test_metrics_in_prometheus_text_format(
    client: TestClient[web.Request, web.Application], metrics: Metrics
) -> None:
    metrics.messages_out.labels(platform="discord").inc(3)
    metrics.outbox_depth.set(7)
    assert (await client.get("/hello")).status == 200
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = await response.text()
    assert 'messages_in_total{platform="web"} 1.0' in text
    assert 'messages_out_total{platform="discord"} 3.0' in text
    assert "outbox_depth 7.0" in text
    for name in (
        "delivery_retries_total",
        "delivery_failures_total",
        "waku_messages_received_total",
        "waku_publish_errors_total",
    ):
        assert f"# TYPE {name} counter" in text


def test_each_bridge_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.messages_in.labels(platform="telegram").inc()
    assert 'messages_in_total{platform="telegram"} 1.0' in first.render().decode()
    assert 'platform="telegram"' not in second.render().decode()
