"""What the conformance suite needs from a platform: its adapter, running against the
platform's fake or real server, and a person on that platform to act and look.

A driver is written once per platform (``tests/conformance/<platform>_driver.py``) and listed
in ``tests/conformance/conftest.py``; the tests in ``test_conformance.py`` then run against it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from bridge.commands import CommandOption, CommandReply, CommandRequest, Commands, CommandSpec
from bridge.model import Adapter, ChatRef, NativeId, RichText
from tests.matrix.world import Sink

SECRET = "the one-time secret"


def conformance_commands() -> Commands:
    """The bridge commands of the adapters under test: ``echo [text]`` answers with its text
    where it was asked, ``secret`` (declared private) answers privately."""
    commands = Commands("Parley")

    async def echo(request: CommandRequest) -> CommandReply:
        return CommandReply(f"echo: {request.raw_args}")

    async def secret(request: CommandRequest) -> CommandReply:
        return CommandReply(SECRET, private=True)

    text = CommandOption("text", "what to say back", required=False)
    commands.register(CommandSpec("echo", "Say it back", "[text]", (text,)), echo)
    commands.register(CommandSpec("secret", "A private answer", private_reply=True), secret)
    return commands


@dataclass(frozen=True)
class Answer:
    """The bot's answer to a command, as the person who asked sees it."""

    text: str
    private: bool
    """Only they can see it (a private chat, an ephemeral reply)."""


@dataclass(frozen=True)
class Seen:
    """One message as a person on the platform sees it."""

    text: str
    rich: RichText
    sender_name: str
    reply_to: NativeId | None = None
    files: tuple[bytes, ...] = ()
    reactions: frozenset[str] = field(default_factory=frozenset)
    deleted: bool = False
    avatar: bytes | None = None


class Driver(Protocol):
    @property
    def adapter(self) -> Adapter: ...

    @property
    def sink(self) -> Sink: ...

    @property
    def chat(self) -> ChatRef: ...

    # a person on the platform

    async def say(self, text: str, *, reply_to: NativeId | None = None) -> NativeId: ...

    async def say_formatted(self) -> NativeId:
        """Post "bold italic link code", each word formatted as its name says (the link to
        https://example.org/; where the platform has no labelled links, the URL itself stands
        for "link": ``test_conformance.formatted``), written the way the platform's own clients
        write it."""
        ...

    async def edit(self, native: NativeId, text: str) -> None: ...

    async def delete(self, native: NativeId) -> None: ...

    async def react(self, native: NativeId, emoji: str) -> None: ...

    async def unreact(self, native: NativeId, emoji: str) -> None: ...

    async def send_file(self, name: str, mime: str, data: bytes) -> NativeId: ...

    async def seen(self, native: NativeId) -> Seen: ...

    async def posted(self) -> list[NativeId]:
        """Every message the bridge posted in the chat, oldest first."""
        ...

    # the world around the adapter

    def avatar_url(self, data: bytes) -> str:
        """A URL the adapter may fetch an author's avatar from."""
        ...

    async def sever(self) -> None:
        """Cut the adapter off from its server."""
        ...

    async def heal(self) -> None: ...

    async def restart(self, while_down: Callable[[], Awaitable[object]] | None = None) -> None:
        """Stop the adapter and start a new one with the same config and sink; ``while_down``
        runs in between (people keep talking while the bridge is away)."""
        ...


@runtime_checkable
class CommandDriver(Driver, Protocol):
    """A driver for a platform whose adapter takes bridge commands (see ``conftest.py``)."""

    async def command(self, name: str, args: str = "") -> None:
        """Give the bridge command ``name`` in the chat, the way the platform's users do (the
        adapter was made knowing ``conformance_commands()``; its sink runs them)."""
        ...

    async def answers(self) -> list[Answer]:
        """The bot's answers to commands the person gave, oldest first: in the chat and in
        private."""
        ...
