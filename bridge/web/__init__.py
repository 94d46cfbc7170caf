"""The bridge's HTTP server: health and metrics here; link, tip, feed and avatar pages plug in."""

from bridge.web.app import (
    METRICS_KEY,
    SETTINGS_KEY,
    ComponentStatus,
    HealthCheck,
    RouteRegistrar,
    create_web_app,
)

__all__ = [
    "METRICS_KEY",
    "SETTINGS_KEY",
    "ComponentStatus",
    "HealthCheck",
    "RouteRegistrar",
    "create_web_app",
]
