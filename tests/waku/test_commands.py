"""Bridge commands given in a Status community channel (bots/waku/commands.py), beyond what the
conformance suite asks of every adapter: what stays text, what Status cannot answer, and that a
command runs once even when a restart reads its message again. The Status side is the
status-go-faithful fake of the conformance driver (tests/fakes/status_node.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bots.waku.commands import private_notice
from bridge.commands import CommandReply, CommandRequest, CommandSpec
from bridge.model import NewMessage
from tests.conformance.driver import SECRET, Answer, conformance_commands
from tests.conformance.waku_driver import ChatMessage, WakuDriver, waku_driver
from tests.fakes import status_node as sg


async def _until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(20):
        while not check():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def _answers(driver: WakuDriver, count: int) -> list[Answer]:
    async with asyncio.timeout(20):
        while len(found := await driver.answers()) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    return found


async def test_an_answer_replies_to_the_command_as_the_bridge() -> None:
    async with waku_driver() as driver:
        await driver.command("echo", "hi")
        [answer] = await _answers(driver, 1)
        assert answer == Answer("echo: hi", private=False)
        [shown] = [
            driver.shown[mid] for mid in driver.order if driver.shown[mid].signer == driver.bridge
        ]
        command = driver.sink.commands[0].request
        assert shown.message.response_to == command.native_id
        assert shown.message.display_name == "Parley Bridge"
        assert command.author.display_name == "Alice Status" and not command.is_admin


async def test_an_unregistered_slash_word_is_relayed_as_text() -> None:
    async with waku_driver() as driver:
        native = await driver.say("/shrug at the weather")
        [event] = await driver.sink.next()
        assert isinstance(event, NewMessage) and event.native_id == native
        assert event.text.text == "/shrug at the weather"
        assert not driver.sink.commands and await driver.answers() == []


async def test_a_command_another_bridge_relayed_is_text() -> None:
    # Its author gave it on another platform, to that bridge.
    async with waku_driver() as driver:
        message = driver.alice.chat_message(
            "", driver.channel, content_type=ChatMessage.ContentType.BRIDGE_MESSAGE
        )
        message.bridge_message.bridgeName = "discord"
        message.bridge_message.userName = "Dora"
        message.bridge_message.content = "/echo from afar"
        await driver._post(message.SerializeToString(), sg.AppType.CHAT_MESSAGE)
        [event] = await driver.sink.next()
        assert isinstance(event, NewMessage) and event.text.text == "/echo from afar"
        assert not driver.sink.commands


async def test_a_private_answer_is_never_made_on_status() -> None:
    ran: list[CommandRequest] = []
    commands = conformance_commands()

    async def spy(request: CommandRequest) -> CommandReply:
        ran.append(request)
        return CommandReply(SECRET, private=True)

    commands.register(CommandSpec("mine", "A private answer", private_reply=True), spy)
    async with waku_driver(commands) as driver:
        await driver.command("mine")
        [answer] = await _answers(driver, 1)
        # Not run at all (a /link would mint a sign-in link for no one): the chat is told.
        assert answer == Answer(private_notice("mine"), private=False)
        assert not ran and not driver.sink.commands and not driver.sink.events
        assert all(SECRET not in shown.text for shown in driver.shown.values())


async def test_an_admin_command_is_refused() -> None:
    commands = conformance_commands()

    async def wipe(request: CommandRequest) -> CommandReply:
        raise AssertionError("ran for a Status member")

    commands.register(CommandSpec("wipe", "Admins only", admin_only=True), wipe)
    async with waku_driver(commands) as driver:
        await driver.command("wipe")
        [answer] = await _answers(driver, 1)
        assert answer.text == (
            "/wipe is for bridge admins only. The bridge has no admins on Status."
        )


async def test_a_command_runs_once_across_a_restart() -> None:
    async with waku_driver() as driver:
        await driver.command("echo", "once")
        await _answers(driver, 1)
        # The restart's catch-up reads the command message again (a margin of history).
        await driver.restart()
        after = await driver.say("said after the restart")
        await _until(
            lambda: any(
                isinstance(e, NewMessage) and e.native_id == after for e in driver.sink.events
            )
        )
        assert [c.request.raw_args for c in driver.sink.commands] == ["once"]
        assert len(await driver.answers()) == 1
        assert driver.adapter.stats["command_repeated"] == 1
