"""Shared pieces of the wallet-link and avatar tests: a recording Notifier, a served web app,
and signing with eth-account."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from eth_account import Account
from eth_account.messages import encode_defunct

from bridge.config import Settings
from bridge.metrics import Metrics
from bridge.model import ChatRef, Platform, UserId
from bridge.web.app import ComponentStatus, RouteRegistrar, create_web_app

__all__ = ["RecordingNotifier", "Served", "free_socket", "serve", "sign"]


@dataclass
class RecordingNotifier:
    """The Notifier protocol, remembering what it was asked to say."""

    announced: list[tuple[ChatRef, str]] = field(default_factory=list)
    room: list[tuple[ChatRef, str]] = field(default_factory=list)
    told: list[tuple[str, str, str]] = field(default_factory=list)

    async def announce(self, chat: ChatRef, text: str) -> None:
        self.announced.append((chat, text))

    async def announce_room(self, chat: ChatRef, text: str) -> None:
        self.room.append((chat, text))

    async def tell_user(self, platform: Platform, user_id: UserId, text: str) -> bool:
        self.told.append((platform, str(user_id), text))
        return True


def sign(text: str, key: bytes) -> str:
    """personal_sign of ``text`` with ``key``, as 0x-hex."""
    signed = Account.sign_message(encode_defunct(text=text), private_key=key)
    return "0x" + bytes(signed.signature).hex()


def free_socket() -> socket.socket:
    """A listening-ready TCP socket on 127.0.0.1 with a port the OS picked."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@dataclass
class Served:
    url: str


async def _healthy() -> dict[str, ComponentStatus]:
    return {"test": ComponentStatus(True)}


@asynccontextmanager
async def serve(sock: socket.socket, registrars: Sequence[RouteRegistrar]) -> AsyncIterator[Served]:
    """The bridge's real web app (``bridge.web.app``) with ``registrars``, served on ``sock``."""
    app = create_web_app(
        settings=Settings(), metrics=Metrics(), health=_healthy, registrars=registrars
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.SockSite(runner, sock)
    await site.start()
    try:
        host, port = sock.getsockname()[:2]
        yield Served(f"http://{host}:{port}")
    finally:
        await runner.cleanup()
