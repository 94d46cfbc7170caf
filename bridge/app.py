"""The bridge runtime: builds the parts named by the settings, starts them in order, stops them
in reverse, and answers for their health.

Everything long-lived is a ``Component`` (``name``, ``start()``, ``stop()``, ``health()``).
The core ones — the store, the Waku node, the embedded node's REST server, the web server —
are created here from the settings; features (router, outbox, platform adapters, the chain
watcher ...) plug in through one registration point, ``Bridge.add_component`` (or
``Bridge.add_factory`` for a component that needs the opened store and the running node), and
add web routes with ``Bridge.add_routes``. ``bridge.compose.wire_features`` (the composition
root, re-exported here) is where ``parley run`` does that; features see the bridge only through
``bridge.host.Host``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import IO

from bridge.compose import wire_features
from bridge.config import Settings
from bridge.gc_tuning import settle_heap
from bridge.host import Component, ComponentFactory, HealthResult
from bridge.metrics import Metrics, metrics_route
from bridge.store import Store
from bridge.store.guard import check_database_file
from bridge.waku.node import WakuNode
from bridge.web.app import ComponentStatus, RouteRegistrar, create_web_app
from bridge.web.server import HttpLimits, HttpServer, raise_descriptor_limit

__all__ = [
    "Bridge",
    "Component",
    "ComponentFactory",
    "HealthResult",
    "HttpServer",
    "KeyValueFormatter",
    "run_bridge",
    "setup_logging",
    "wire_features",
]

log = logging.getLogger(__name__)

# nwaku answers a relay publish within 5 s or reports a timeout itself (docs/PROTOCOL.md §9).
NWAKU_REQUEST_TIMEOUT = 10.0


# --- core components -----------------------------------------------------------------------


class _StoreComponent:
    name = "store"

    def __init__(self, bridge: Bridge) -> None:
        self._bridge = bridge

    async def start(self) -> None:
        settings = self._bridge.settings
        check_database_file(settings.store_path, keystore=settings.keystore_path)
        self._bridge._store = await Store.open(settings.store_path)

    async def stop(self) -> None:
        store, self._bridge._store = self._bridge._store, None
        if store is not None:
            await store.close()

    async def health(self) -> HealthResult:
        store = self._bridge._store
        if store is None:
            return ComponentStatus(False, "closed")
        if store.write_failure is not None:
            return ComponentStatus(False, f"writes failing: {store.write_failure}")
        try:
            async with store.db.execute("SELECT 1") as cursor:
                await cursor.fetchone()
        except Exception as exc:
            return ComponentStatus(False, type(exc).__name__)
        return True


class _NodeComponent:
    name = "waku"

    def __init__(self, node: WakuNode, label: str) -> None:
        self.node = node
        self._label = label

    async def start(self) -> None:
        await self.node.start()

    async def stop(self) -> None:
        await self.node.stop()

    async def health(self) -> HealthResult:
        try:
            status = await self.node.health()
        except Exception as exc:
            return ComponentStatus(False, f"{self._label}: {type(exc).__name__}: {exc}")
        detail = ", ".join(f"{k}={v}" for k, v in sorted(status.detail.items()))
        return ComponentStatus(status.ready, f"{self._label}: {detail}" if detail else self._label)


# --- the bridge ----------------------------------------------------------------------------


class Bridge:
    """One running bridge. Use ``async with bridge:`` or ``start()``/``stop()``."""

    def __init__(
        self, settings: Settings, identity_key: bytes, *, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        self.identity_key = identity_key
        self.metrics = metrics if metrics is not None else Metrics()
        self._store: Store | None = None
        self._node: WakuNode | None = None
        self._extra: list[Component | ComponentFactory] = []
        self._routes: list[RouteRegistrar] = []
        self._started: list[Component] = []
        self.waku_rest: HttpServer | None = None
        self.web: HttpServer | None = None

    # registration (before start)

    def add_component(self, component: Component) -> None:
        """Run ``component`` with the bridge: started after the store and the Waku node,
        before the web server; stopped in reverse order."""
        self._check_not_started()
        self._extra.append(component)

    def add_factory(self, factory: ComponentFactory) -> None:
        """Like ``add_component``, for a component built from the running core
        (``bridge.store``, ``bridge.node``): ``factory(bridge)`` is called at its turn."""
        self._check_not_started()
        self._extra.append(factory)

    def add_routes(self, registrar: RouteRegistrar) -> None:
        """Add web routes: ``registrar(app)`` is called while the web app is built."""
        self._check_not_started()
        self._routes.append(registrar)

    def _check_not_started(self) -> None:
        if self._started:
            raise RuntimeError("register components and routes before the bridge starts")

    # the running core

    @property
    def store(self) -> Store:
        if self._store is None:
            raise RuntimeError("the store is not open (the bridge is not running)")
        return self._store

    @property
    def node(self) -> WakuNode:
        if self._node is None:
            raise RuntimeError("the Waku node is not running")
        return self._node

    @property
    def components(self) -> list[Component]:
        return list(self._started)

    # lifecycle

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("the bridge is already running")
        try:
            await self._start(_StoreComponent(self))
            await self._start_waku()
            for entry in self._extra:
                await self._start(entry if isinstance(entry, Component) else entry(self))
            web_app = create_web_app(
                settings=self.settings,
                metrics=self.metrics,
                health=self.health_report,
                registrars=self._routes,
            )
            web = self.settings.web
            self.web = HttpServer(
                "web", web_app, web.host, web.port, limits=self._http_limits(web.max_connections)
            )
            await self._start(self.web)
        except BaseException:
            await self.stop()
            raise

    async def _start_waku(self) -> None:
        waku = self.settings.waku
        if waku.mode == "nwaku":
            from bridge.waku.rest_client import NwakuRestClient

            assert waku.nwaku_url is not None  # the config loader guarantees it
            self._node = NwakuRestClient(
                waku.nwaku_url,
                poll_interval=waku.poll_interval,
                request_timeout=NWAKU_REQUEST_TIMEOUT,
                store_peer=waku.store_peer,
                token=None if waku.rest_token is None else waku.rest_token.get_secret_value(),
            )
            await self._start(_NodeComponent(self._node, f"nwaku {waku.nwaku_url}"))
            return
        from bridge.waku.embedded import EmbeddedNode
        from bridge.waku.rest_server import RestAccess, create_rest_app, is_loopback

        node = EmbeddedNode(
            self.store,
            cluster_id=waku.cluster_id,
            num_shards=waku.num_shards_in_network,
            retention_messages=waku.retention_messages,
            retention_seconds=waku.retention_seconds,
            retention_bytes=waku.retention_bytes,
        )
        self._node = node
        await self._start(_NodeComponent(node, "embedded"))
        # The embedded node serves nwaku's REST API so that outside Waku tools can use it.
        token = None if waku.rest_token is None else waku.rest_token.get_secret_value()
        rest_app = create_rest_app(
            node,
            cache_capacity=waku.relay_cache_capacity,
            max_subscriptions=waku.rest_max_topics,
            cache_bytes=waku.rest_cache_bytes,
            store_page_bytes=waku.rest_store_page_bytes,
            access=RestAccess(
                bind_host=waku.rest_host,
                allowed_hosts=tuple(waku.rest_allowed_hosts),
                allowed_origins=tuple(waku.rest_allowed_origins),
                token=token,
            ),
        )
        rest_app.router.add_routes([metrics_route(self.metrics)])
        if token is None and not is_loopback(waku.rest_host):
            log.warning(
                "UNPROTECTED: the Waku REST API listens on %s, beyond this machine, without "
                "[waku] rest_token: anyone who can reach port %d can publish and subscribe. "
                'Set PARLEY_WAKU__REST_TOKEN (or rest_host = "127.0.0.1").',
                waku.rest_host,
                waku.rest_port,
            )
        self.waku_rest = HttpServer(
            "waku_rest",
            rest_app,
            waku.rest_host,
            waku.rest_port,
            limits=self._http_limits(waku.rest_max_connections),
        )
        await self._start(self.waku_rest)

    def _http_limits(self, max_connections: int) -> HttpLimits:
        web = self.settings.web
        return HttpLimits(web.header_timeout, web.body_timeout, max_connections)

    async def _start(self, component: Component) -> None:
        log.debug("starting", extra={"component": component.name})
        await component.start()
        self._started.append(component)
        log.info("started", extra={"component": component.name})

    async def stop(self) -> None:
        """Stop every started component, last started first; a failing stop is logged and
        does not keep the others running."""
        while self._started:
            component = self._started.pop()
            try:
                await component.stop()
            except Exception:
                log.exception("stop failed", extra={"component": component.name})
            else:
                log.info("stopped", extra={"component": component.name})
        self._node = None
        self.waku_rest = None
        self.web = None

    async def __aenter__(self) -> Bridge:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def health_report(self) -> dict[str, ComponentStatus]:
        """Each started component's health, probed concurrently."""
        components = list(self._started)
        results = await asyncio.gather(*(_probe(c) for c in components), return_exceptions=False)
        return {c.name: status for c, status in zip(components, results, strict=True)}


async def _probe(component: Component) -> ComponentStatus:
    try:
        result = component.health()
        if inspect.isawaitable(result):
            result = await result
    except Exception as exc:
        return ComponentStatus(False, f"health check failed: {type(exc).__name__}")
    if isinstance(result, ComponentStatus):
        return result
    return ComponentStatus(bool(result))


async def run_bridge(
    settings: Settings,
    identity_key: bytes,
    *,
    stop: asyncio.Event,
    on_ready: Callable[[Bridge], None] | None = None,
    wire: Callable[[Bridge], object] = wire_features,
) -> None:
    """Run a bridge until ``stop`` is set, then stop it cleanly."""
    soft, _hard = raise_descriptor_limit()
    # What the two HTTP servers may hold, and room for the store, the platforms and the node.
    wanted = settings.web.max_connections + settings.waku.rest_max_connections + 256
    if soft < wanted:
        log.warning(
            "the open-files limit is %d; the HTTP connection caps need %d with room for "
            "relaying: raise the limit (ulimit -n) or lower [web] max_connections",
            soft,
            wanted,
        )
    bridge = Bridge(settings, identity_key)
    wire(bridge)
    async with bridge:
        settle_heap()
        if on_ready is not None:
            on_ready(bridge)
        await stop.wait()
        log.info("shutting down")


# --- logging -------------------------------------------------------------------------------

_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class KeyValueFormatter(logging.Formatter):
    """One line per event: ``ts=… level=… logger=… msg="…" key=value …``.

    Extra fields come from ``log.info("…", extra={"component": "waku"})``. Every known secret
    value is masked in the final line, whatever put it there (a token inside a URL that a
    library logged, an exception message).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so that a secret containing another is masked whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        fields: dict[str, object] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_FIELDS and not key.startswith("_"):
                fields[key] = value
        if record.exc_info:
            # exc_text: the traceback as RedactFilter left it.
            fields["exc"] = record.exc_text or self.formatException(record.exc_info)
        line = " ".join(f"{key}={_kv(value)}" for key, value in fields.items())
        for secret in self._secrets:
            line = line.replace(secret, "***")
        return line

    converter = staticmethod(time.gmtime)


def _kv(value: object) -> str:
    text = str(value)
    if text and all(c.isalnum() or c in "-_.:/@+" for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)


def setup_logging(
    level: str, *, secrets: Iterable[str] = (), stream: IO[str] | None = None
) -> None:
    """Send every log record to ``stream`` (stderr) as key=value lines; stdout stays for the
    CLI's own output."""
    from bridge.logfilters import RedactFilter, RepeatFilter

    secrets = list(secrets)
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(KeyValueFormatter(secrets))
    # Repeats first (cheap, and a suppressed line needs no redaction), then secrets.
    handler.addFilter(RepeatFilter())
    handler.addFilter(RedactFilter(secrets))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL at INFO, and Telegram's URLs carry the bot token.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
