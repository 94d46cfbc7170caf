"""Commands arrive as inbound events (issue 9, item 1): an adapter never holds the command
registry; it hands a ``Command`` to its sink and shows the answer it is given."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from bridge.commands import Command, CommandReply, CommandRequest, Commands, CommandSpec
from bridge.model import Author, ChatId, ChatRef, UserId

ROOT = Path(__file__).resolve().parent.parent
CHAT = ChatRef("matrix", ChatId("!room:example.org"))
ALICE = Author("matrix", UserId("@alice:example.org"), "Alice")


def request(name: str, raw: str = "") -> CommandRequest:
    return CommandRequest(name=name, args=tuple(raw.split()), raw_args=raw, chat=CHAT, author=ALICE)


def registry_users(source: str) -> list[str]:
    """Where ``source`` names the registry class ``Commands`` (an import or an attribute)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module == "bridge.commands":
            found += [f"{node.lineno}: import" for a in node.names if a.name == "Commands"]
        elif isinstance(node, ast.Attribute) and node.attr == "Commands":
            found.append(f"{node.lineno}: attribute")
    return found


def test_the_finder_finds_a_registry_import() -> None:
    assert registry_users("from bridge.commands import CommandReply, Commands\n") == ["1: import"]
    assert registry_users("import bridge.commands\nx = bridge.commands.Commands()\n") == [
        "2: attribute"
    ]


def test_no_platform_package_holds_the_command_registry() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{where}"
        for path in sorted((ROOT / "bots").rglob("*.py"))
        for where in registry_users(path.read_text(encoding="utf-8"))
    ]
    assert not found, "adapters hand Command events to their sink instead:\n" + "\n".join(found)


async def test_run_hands_the_reply_to_the_adapters_answer() -> None:
    commands = Commands("Parley")

    async def secret(req: CommandRequest) -> CommandReply:
        return CommandReply(f"for {req.author.display_name} only")

    commands.register(CommandSpec("secret", "A secret", private_reply=True), secret)
    answered: list[CommandReply] = []

    async def answer(reply: CommandReply) -> None:
        answered.append(reply)

    await commands.run(Command(request("secret"), answer))
    await commands.run(Command(request("nope"), answer))
    assert answered[0] == CommandReply("for Alice only", private=True)
    assert answered[1].text.startswith("Unknown command /nope.") and not answered[1].private
    assert Command(request("nope"), answer).source == CHAT


async def test_an_answer_that_fails_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(reply: CommandReply) -> None:
        raise ConnectionError("the platform is down")

    with caplog.at_level(logging.ERROR, logger="bridge.commands"):
        await Commands().run(Command(request("help"), broken))
    assert "answering /help failed" in caplog.text
