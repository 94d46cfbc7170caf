"""Chat commands, platform-neutral: the registry, parsing of arguments, and the replies.

Adapters turn a platform command (a Telegram ``/cmd`` message, a Discord slash command, a
Matrix ``!cmd``) into an inbound ``Command`` event (``bridge.model``) for their sink, like a
message; the sink runs it here (``Commands.run``) and hands the ``CommandReply`` to the
event's ``answer``, which shows it in the chat, or privately (Telegram DM, Discord ephemeral,
Matrix direct room) when ``private`` is set. Features register their commands here
(``Commands.register``), so an adapter never needs to know what a command does; the list of
``CommandSpec`` (``Commands.specs``) is all an adapter gets, to publish at start
(``setMyCommands``, slash sync) and to tell commands from text.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bridge.model import Command, CommandReply, CommandRequest

__all__ = [
    "Command",
    "CommandHandler",
    "CommandOption",
    "CommandReply",
    "CommandRequest",
    "CommandSpec",
    "Commands",
    "UsageError",
    "parse_command_text",
    "split_args",
]

log = logging.getLogger(__name__)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MAX_ARGS_LENGTH = 2000


class UsageError(ValueError):
    """The command was called wrongly; the message is shown to the user with the usage line."""


@dataclass(frozen=True, slots=True)
class CommandOption:
    """One argument, as Discord's slash commands declare it (Telegram just reads the text)."""

    name: str
    description: str
    required: bool = True


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    description: str
    usage: str = ""
    """Arguments after the name, e.g. ``"@user <amount> <token> [memo]"``."""
    options: tuple[CommandOption, ...] = ()
    admin_only: bool = False
    private_reply: bool = False
    """Answer privately (e.g. /link, whose reply holds a one-time URL); the replies of all
    other commands are shown where they were asked."""

    def usage_line(self) -> str:
        return f"/{self.name} {self.usage}".rstrip()


CommandHandler = Callable[[CommandRequest], Awaitable[CommandReply]]


class Commands:
    """The command registry that every adapter dispatches into."""

    def __init__(self, bridge_name: str = "Parley") -> None:
        self._bridge_name = bridge_name
        self._specs: dict[str, CommandSpec] = {}
        self._handlers: dict[str, CommandHandler] = {}
        self.register(
            CommandSpec(
                "help",
                "List the bridge's commands",
                "[command]",
                (CommandOption("command", "a command to explain", required=False),),
            ),
            self._help,
        )

    def register(self, spec: CommandSpec, handler: CommandHandler) -> None:
        if not _NAME.match(spec.name):
            raise ValueError(f"invalid command name {spec.name!r}")
        if spec.name in self._specs:
            raise ValueError(f"command /{spec.name} is registered twice")
        self._specs[spec.name] = spec
        self._handlers[spec.name] = handler

    def specs(self) -> list[CommandSpec]:
        return sorted(self._specs.values(), key=lambda s: s.name)

    def spec(self, name: str) -> CommandSpec | None:
        return self._specs.get(name)

    async def handle(self, request: CommandRequest) -> CommandReply:
        """Run a command; never raises: every failure becomes a short reply to the user.

        Only the replies of commands declared ``private_reply`` (one-time links) are private;
        everything else (usage errors, refusals, results) is answered where it was asked:
        a private answer to someone who never opened a chat with the bot cannot be delivered.
        """
        spec = self._specs.get(request.name)
        if spec is None:
            return CommandReply(self._unknown(request))
        if len(request.raw_args) > MAX_ARGS_LENGTH:
            return CommandReply(f"Too long. Usage: {spec.usage_line()}")
        if spec.admin_only and not request.is_admin:
            return CommandReply(f"/{spec.name} is for bridge admins only.")
        try:
            reply = await self._handlers[spec.name](request)
        except UsageError as exc:
            return CommandReply(f"{exc}\nUsage: {spec.usage_line()}")
        except Exception:
            log.exception("command /%s failed", spec.name)
            return CommandReply(f"/{spec.name} failed; the bridge logged why.")
        if reply.private != spec.private_reply:
            return CommandReply(reply.text, private=spec.private_reply)
        return reply

    async def run(self, event: Command) -> None:
        """The sink's part: run the command and hand its reply to the adapter's ``answer``."""
        reply = await self.handle(event.request)
        try:
            await event.answer(reply)
        except Exception:
            log.exception("answering /%s failed", event.request.name)

    def _unknown(self, request: CommandRequest) -> str:
        names = " ".join(
            f"/{spec.name}" for spec in self.specs() if request.is_admin or not spec.admin_only
        )
        return f"Unknown command /{request.name}. Commands: {names} (/help explains them)."

    async def _help(self, request: CommandRequest) -> CommandReply:
        if request.args:
            spec = self._specs.get(request.args[0].lstrip("/").lower())
            if spec is None:
                raise UsageError(f"No command /{request.args[0].lstrip('/')}.")
            return CommandReply(f"{spec.usage_line()}\n{spec.description}")
        lines = [f"{self._bridge_name} commands:"]
        for spec in self.specs():
            if spec.admin_only and not request.is_admin:
                continue
            lines.append(f"{spec.usage_line()} — {spec.description}")
        return CommandReply("\n".join(lines))


def split_args(raw: str) -> tuple[str, ...]:
    """Whitespace-separated arguments; quotes are not special (chat users do not expect them)."""
    return tuple(raw.split())


def parse_command_text(text: str, bot_username: str | None) -> tuple[str, str] | None:
    """``"/Cmd@bot a b"`` -> ``("cmd", "a b")``; None if not a command (or for another bot)."""
    match = re.match(r"^/([A-Za-z][A-Za-z0-9_]{0,31})(?:@([A-Za-z0-9_]{1,64}))?(?:\s+|$)", text)
    if match is None:
        return None
    if match.group(2) and (bot_username is None or match.group(2).lower() != bot_username.lower()):
        return None
    return match.group(1).lower(), text[match.end() :].strip()
