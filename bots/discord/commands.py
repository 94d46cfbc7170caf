"""Bridge commands on Discord: slash commands, registered per guild, handed to the sink as
``Command`` events and answered in time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any, cast

import discord

from bots.discord.common import author_of, chat_of
from bots.discord.state import DiscordState
from bots.discord.text import DISCORD_LIMIT, escape_discord
from bridge.commands import Command, CommandReply, CommandRequest, CommandSpec
from bridge.model import InboundSink

__all__ = ["DiscordCommands"]

log = logging.getLogger(__name__)


class DiscordCommands:
    def __init__(
        self,
        state: DiscordState,
        commands: Sequence[CommandSpec],
        *,
        admins: Collection[int],
        defer_after: float,
    ) -> None:
        self._state = state
        self._specs = {spec.name: spec for spec in commands}
        self.sink: InboundSink | None = None
        self._admins = frozenset(int(a) for a in admins)
        self._defer_after = defer_after

    async def sync(self, client: discord.Client) -> None:
        app_id = client.application_id
        if app_id is None:
            log.warning("no Discord application id: slash commands are not registered")
            return
        payload = [command_payload(spec) for spec in self._specs.values()]
        guild_ids = set()
        for channel_id in self._state.channels:
            channel = client.get_channel(channel_id)
            guild = getattr(channel, "guild", None)
            if isinstance(guild, discord.Guild):
                guild_ids.add(guild.id)
        # Guild commands appear at once; global ones can take an hour to propagate.
        for guild_id in sorted(guild_ids):
            try:
                await client.http.bulk_upsert_guild_commands(app_id, guild_id, payload)
            except discord.HTTPException as exc:
                log.warning(
                    "could not register slash commands in guild %s (%s); was the bot invited "
                    "with the applications.commands scope?",
                    guild_id,
                    exc,
                )

    async def on_interaction(
        self, client: discord.Client, interaction: discord.Interaction
    ) -> None:
        sink = self.sink
        if client is not self._state.client or sink is None:
            return
        if interaction.type is not discord.InteractionType.application_command:
            return
        data = cast(Mapping[str, Any], interaction.data or {})
        name = str(data.get("name", "")).lower()
        spec = self._specs.get(name)
        options: dict[str, str] = {}
        for option in data.get("options") or []:
            if isinstance(option, Mapping) and "value" in option:
                options[str(option.get("name", ""))] = str(option["value"])[:2000]
        order = [o.name for o in spec.options] if spec is not None else list(options)
        args = tuple(options[key] for key in order if key in options)
        user = interaction.user
        is_private = interaction.guild_id is None
        is_admin = user.id in self._admins or (
            not is_private and interaction.permissions.administrator
        )
        request = CommandRequest(
            name=name,
            args=args,
            raw_args=" ".join(args),
            chat=chat_of(interaction.channel_id or 0),
            author=author_of(user),
            is_private=is_private,
            is_admin=is_admin,
            options=options,
        )
        replied: asyncio.Future[CommandReply] = asyncio.get_running_loop().create_future()

        async def answer(reply: CommandReply) -> None:
            if not replied.done():
                replied.set_result(reply)

        task = asyncio.ensure_future(sink(Command(request, answer)))
        waiting: set[asyncio.Future[Any]] = {replied, task}
        try:
            await asyncio.wait(waiting, timeout=self._defer_after, return_when="FIRST_COMPLETED")
            if replied.done() or task.done():
                reply = _reply_of(replied, task, name)
                await interaction.response.send_message(
                    reply_text(reply),
                    ephemeral=reply.private or is_private,
                    allowed_mentions=discord.AllowedMentions.none(),
                )
                return
            # Discord drops an interaction not answered within 3 s. The deferral's visibility
            # is fixed now, so only commands declared private are deferred privately.
            private = spec is None or spec.private_reply
            await interaction.response.defer(ephemeral=private, thinking=True)
            await asyncio.wait(waiting, return_when="FIRST_COMPLETED")
            await interaction.edit_original_response(
                content=reply_text(_reply_of(replied, task, name)),
                allowed_mentions=discord.AllowedMentions.none(),
            )
        except discord.HTTPException as exc:
            log.warning("could not answer /%s: %s", name, exc)
        finally:
            if not task.done():
                task.cancel()


def _reply_of(
    replied: asyncio.Future[CommandReply], task: asyncio.Future[None], name: str
) -> CommandReply:
    """The sink's answer; a sink that ended without one (it failed) still gets the user one."""
    if replied.done():
        return replied.result()
    if not task.cancelled() and task.exception() is not None:
        log.warning("the sink failed on /%s: %s", name, task.exception())
    return CommandReply(f"/{name} failed; try again later.")


def reply_text(reply: CommandReply) -> str:
    text = escape_discord(reply.text) or "Done."
    return text if len(text) <= DISCORD_LIMIT else text[: DISCORD_LIMIT - 1] + "…"


def command_payload(spec: CommandSpec) -> dict[str, Any]:
    # Discord refuses a required option after an optional one; keep spec order otherwise.
    options = sorted(spec.options, key=lambda o: not o.required)
    return {
        "type": 1,
        "name": spec.name,
        "description": (spec.description or spec.name)[:100],
        "options": [
            {
                "type": 3,
                "name": option.name[:32].lower(),
                "description": (option.description or option.name)[:100],
                "required": option.required,
            }
            for option in options[:25]
        ],
    }
