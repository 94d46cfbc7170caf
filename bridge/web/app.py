"""The aiohttp application: ``GET /health``, ``GET /metrics``, and a hook for other routes.

Feature modules (wallet linking, tips, the feed, avatars) add their routes by passing a
``RouteRegistrar`` — a function that receives the ``web.Application`` before it is frozen and
calls ``app.router.add_routes(...)`` (or adds sub-apps, middlewares, cleanup hooks). They can
read the shared objects through the typed ``AppKey``s below.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from bridge.config import Settings
from bridge.metrics import CONTENT_TYPE, Metrics

__all__ = [
    "METRICS_KEY",
    "SETTINGS_KEY",
    "ComponentStatus",
    "HealthCheck",
    "RouteRegistrar",
    "create_web_app",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ComponentStatus:
    up: bool
    detail: str = ""


HealthCheck = Callable[[], Awaitable[Mapping[str, ComponentStatus]]]
RouteRegistrar = Callable[[web.Application], None]

METRICS_KEY = web.AppKey("parley.metrics", Metrics)
SETTINGS_KEY = web.AppKey("parley.settings", Settings)
_HEALTH_KEY: web.AppKey[HealthCheck] = web.AppKey("parley.health")

# A health probe that hangs (a dead nwaku behind a firewall) must not hang the endpoint too.
HEALTH_TIMEOUT = 5.0


def create_web_app(
    *,
    settings: Settings,
    metrics: Metrics,
    health: HealthCheck,
    registrars: Sequence[RouteRegistrar] = (),
    client_max_size: int = 1024 * 1024,
) -> web.Application:
    """Build the bridge's web application; each registrar adds its own routes."""
    app = web.Application(client_max_size=client_max_size)
    app[SETTINGS_KEY] = settings
    app[METRICS_KEY] = metrics
    app[_HEALTH_KEY] = health
    app.router.add_get("/health", _health)
    app.router.add_get("/metrics", _metrics)
    for register in registrars:
        register(app)
    return app


async def _probe(app: web.Application) -> dict[str, ComponentStatus]:
    """Ask every component, and set ``component_up`` from the answers."""
    probe = app[_HEALTH_KEY]
    try:
        async with asyncio.timeout(HEALTH_TIMEOUT):
            report = dict(await probe())
    except TimeoutError:
        report = {"bridge": ComponentStatus(False, "health check timed out")}
    metrics = app[METRICS_KEY]
    for name, status in report.items():
        metrics.component_up.labels(component=name).set(1 if status.up else 0)
    return report


async def _health(request: web.Request) -> web.Response:
    report = await _probe(request.app)
    up = bool(report) and all(status.up for status in report.values())
    body = {
        "status": "up" if up else "down",
        "name": request.app[SETTINGS_KEY].bridge.name,
        "components": {
            name: {
                "status": "up" if status.up else "down",
                **({"detail": status.detail} if status.detail else {}),
            }
            for name, status in sorted(report.items())
        },
    }
    return web.json_response(body, status=200 if up else 503)


async def _metrics(request: web.Request) -> web.Response:
    # component_up as of now: a scraper that never asks /health still sees a component go down.
    await _probe(request.app)
    # web.Response(content_type=...) refuses a charset parameter; set the header whole.
    return web.Response(
        body=request.app[METRICS_KEY].render(), headers={"Content-Type": CONTENT_TYPE}
    )
