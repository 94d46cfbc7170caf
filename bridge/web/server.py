"""Serving an aiohttp application on one host and port: the web server and the Waku REST API."""

from __future__ import annotations

from aiohttp import web

__all__ = ["HttpServer"]

# Long enough for an in-flight request to finish; a stopping bridge should not hang on a client.
SHUTDOWN_TIMEOUT = 2.0


class HttpServer:
    """An aiohttp application served on host:port; port 0 picks a free port (see ``port``)."""

    def __init__(self, name: str, app: web.Application, host: str, port: int) -> None:
        self.name = name
        self._app = app
        self._host = host
        self._requested_port = port
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        """The bound port (the real one when 0 was asked for)."""
        if self._port is None:
            raise RuntimeError(f"{self.name} is not listening")
        return self._port

    @property
    def url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._requested_port)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    def health(self) -> bool:
        return self._runner is not None
