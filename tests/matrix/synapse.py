"""A real Synapse homeserver for the tests: SQLite, loopback only, no federation.

``Synapse.start()`` writes a homeserver config, a signing key and the bridge's
application-service registration (made by ``bots.matrix.registration``, the same code behind
``parley matrix registration``) into a directory, runs ``python -m synapse.app.homeserver``
and waits for the client API. Synapse takes seconds to start, so one instance serves a whole
test session (see ``tests.matrix.fixtures``).

The registration's ``url`` must be known before Synapse starts, so the appservice port is
chosen here; it is the ``Gateway``'s, which forwards to the adapter under test.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml
from aiohttp import web
from signedjson.key import generate_signing_key, write_signing_keys

from bots.matrix.registration import Registration, write_registration

SERVER_NAME = "parley.test"
START_TIMEOUT = 180.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class MatrixUser:
    user_id: str
    access_token: str


@dataclass
class Synapse:
    root: Path
    server_name: str = SERVER_NAME
    port: int = field(default_factory=free_port)
    as_port: int = field(default_factory=free_port)
    shared_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    registration: Registration = field(init=False)
    gateway: Gateway = field(init=False)
    _proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.registration = Registration(
            id="parley",
            url=f"http://127.0.0.1:{self.as_port}",
            as_token=secrets.token_hex(24),
            hs_token=secrets.token_hex(24),
            bot_localpart="parley",
            puppet_prefix="parley_",
            server_name=self.server_name,
        )
        self.gateway = Gateway(self.as_port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / "homeserver.log"

    def _write_config(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / "signing.key").open("w") as handle:
            write_signing_keys(handle, [generate_signing_key("a_test")])
        write_registration(self.root / "registration.yaml", self.registration)
        (self.root / "log.yaml").write_text(
            yaml.safe_dump(
                {
                    "version": 1,
                    "formatters": {
                        "f": {"format": "%(asctime)s %(name)s %(levelname)s %(message)s"}
                    },
                    "handlers": {
                        "file": {
                            "class": "logging.FileHandler",
                            "formatter": "f",
                            "filename": str(self.log_path),
                        }
                    },
                    "root": {"level": "WARNING", "handlers": ["file"]},
                    # What the tests need when a push to the appservice goes astray.
                    "loggers": {"synapse.appservice": {"level": "INFO"}},
                    "disable_existing_loggers": False,
                }
            )
        )
        fast = {"per_second": 1000, "burst_count": 1000}
        config: dict[str, Any] = {
            "server_name": self.server_name,
            "public_baseurl": f"{self.url}/",
            "pid_file": str(self.root / "homeserver.pid"),
            # A client listener only: no federation listener, no key server, no outbound peers.
            "listeners": [
                {
                    "port": self.port,
                    "bind_addresses": ["127.0.0.1"],
                    "type": "http",
                    "tls": False,
                    "x_forwarded": False,
                    "resources": [{"names": ["client"], "compress": False}],
                }
            ],
            "database": {"name": "sqlite3", "args": {"database": str(self.root / "hs.db")}},
            "log_config": str(self.root / "log.yaml"),
            "media_store_path": str(self.root / "media"),
            "signing_key_path": str(self.root / "signing.key"),
            "report_stats": False,
            "registration_shared_secret": self.shared_secret,
            "macaroon_secret_key": secrets.token_hex(16),
            "form_secret": secrets.token_hex(16),
            "trusted_key_servers": [],
            "suppress_key_server_warning": True,
            "federation_domain_whitelist": [],
            "enable_registration": False,
            "url_preview_enabled": False,
            "presence": {"enabled": False},
            "app_service_config_files": [str(self.root / "registration.yaml")],
            "rc_message": fast,
            "rc_registration": fast,
            "rc_login": {"address": fast, "account": fast, "failed_attempts": fast},
            "rc_joins": {"local": fast, "remote": fast},
            "rc_joins_per_room": fast,
            "rc_invites": {"per_room": fast, "per_user": fast, "per_issuer": fast},
            "rc_admin_redaction": fast,
            "rc_media_create": fast,
            "rc_room_creation": fast,
            "rc_profile": fast,
        }
        path = self.root / "homeserver.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    def start(self) -> None:
        self.gateway.start()
        config = self._write_config()
        env = {**os.environ, "SYNAPSE_CACHE_FACTOR": "0.1"}
        with (self.root / "stdout.log").open("wb") as out:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "synapse.app.homeserver", "-c", str(config)],
                cwd=self.root,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RuntimeError(f"synapse exited at start:\n{self.logs()}")
            try:
                self.request("GET", "/_matrix/client/versions")
                return
            except OSError:
                time.sleep(0.25)
        self.stop()
        raise RuntimeError(f"synapse did not answer within {START_TIMEOUT} s:\n{self.logs()}")

    def stop(self) -> None:
        self.gateway.stop()
        proc, self._proc = self._proc, None
        if proc is None:
            return
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def logs(self) -> str:
        parts = []
        for name in ("stdout.log", "homeserver.log"):
            path = self.root / name
            if path.exists():
                parts.append(path.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    # --- the client-server API, as a plain HTTP client (sync: also used before any loop) ----

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> Any:
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", content_type)
        if token is not None:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                payload = resp.read()
        except urllib.error.HTTPError as exc:
            raise MatrixHTTPError(exc.code, exc.read().decode(errors="replace")) from None
        return json.loads(payload) if payload else None

    def register_user(
        self, localpart: str, password: str = "pw", admin: bool = False
    ) -> MatrixUser:
        """Register through the shared-secret admin API (what register_new_matrix_user does)."""
        nonce = self.request("GET", "/_synapse/admin/v1/register")["nonce"]
        # The MAC covers the fields joined by NUL, without a trailing one.
        fields = [nonce, localpart, password, "admin" if admin else "notadmin"]
        mac = hmac.new(
            self.shared_secret.encode(), b"\x00".join(f.encode() for f in fields), "sha1"
        )
        body = {
            "nonce": nonce,
            "username": localpart,
            "password": password,
            "admin": admin,
            "mac": mac.hexdigest(),
        }
        reply = self.request("POST", "/_synapse/admin/v1/register", body)
        return MatrixUser(reply["user_id"], reply["access_token"])


class Gateway:
    """The appservice URL Synapse pushes to, in front of whichever adapter a test runs.

    Each test's adapter listens on its own port; the gateway (a thread with its own event
    loop, so it outlives every test's loop) forwards to it. With no adapter it either holds
    the push until one is there (``hold``: a restart test, "the bridge is away") or
    acknowledges it (between tests: the push belongs to a finished test's room).

    Why not let pushes fail between tests: a refused push puts Synapse 1.163 into recovery
    mode, and a transaction created just as it recovers is left in its table until the next
    failed push (``_TransactionController.send`` read the state as down, ``on_recovered`` then
    marks the service up and nothing looks at the table again); tests would flake on that.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.target: str | None = None
        self.hold = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None

    def start(self) -> None:
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(30):
            raise RuntimeError("the appservice gateway did not start")

    def stop(self) -> None:
        loop, stopped = self._loop, self._stopped
        if loop is not None and stopped is not None:
            loop.call_soon_threadsafe(stopped.set)
        if self._thread is not None:
            self._thread.join(10)

    def _run(self, ready: threading.Event) -> None:
        asyncio.run(self._serve(ready))

    async def _serve(self, ready: threading.Event) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._forward)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port).start()
        async with aiohttp.ClientSession() as self._session:
            ready.set()
            await self._stopped.wait()
        await runner.cleanup()

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            target = self.target
            if target is None:
                if not self.hold:
                    return web.json_response({})
                await asyncio.sleep(0.02)
                continue
            headers = {
                k: v
                for k, v in request.headers.items()
                if k.lower() in {"authorization", "content-type"}
            }
            try:
                async with self._session.request(
                    request.method, f"{target}{request.rel_url}", data=body, headers=headers
                ) as resp:
                    payload = await resp.read()
                    return web.Response(
                        status=resp.status, body=payload, content_type="application/json"
                    )
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.02)  # the adapter is stopping or starting
        return web.json_response({"errcode": "M_UNKNOWN"}, status=502)


class MatrixHTTPError(OSError):
    def __init__(self, status: int, body: str) -> None:
        super().__init__(f"HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body
