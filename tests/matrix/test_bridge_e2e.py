"""Matrix through the whole bridge: ``parley run``'s wiring with the platform registry, the
Telegram stand-in on one side and the real Synapse on the other."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import aiohttp
from mautrix.client import ClientAPI
from mautrix.types import EventType, RoomCreatePreset, UserID

from bots.registry import PLATFORMS
from bridge.app import Bridge, wire_features
from bridge.config import parse_config
from crypto.keys import generate_private_key
from tests.e2e import harness
from tests.fakes.telegram import FakeTelegram
from tests.matrix.synapse import Synapse
from tests.matrix.world import LOOPBACK_POLICY


async def _timeline(client: ClientAPI, room: str) -> list[dict[str, Any]]:
    from mautrix.api import Method, Path

    reply = await client.api.request(
        Method.GET, Path.v3.rooms[room].messages, query_params={"dir": "b", "limit": "50"}
    )
    return list(reversed(reply["chunk"]))


async def test_telegram_and_matrix_talk_through_the_bridge(
    tmp_path: Path, synapse: Synapse
) -> None:
    user = await asyncio.to_thread(synapse.register_user, "e2e_carol")
    bot_mxid = f"@{synapse.registration.bot_localpart}:{synapse.server_name}"
    async with FakeTelegram() as tg, aiohttp.ClientSession() as session:
        tg_bot = tg.add_bot("parley_bot")
        alice = tg.add_user("Alice", username="alice_tg")
        group = tg.add_chat("supergroup", "Room", members=[alice], bots=[tg_bot])
        carol = ClientAPI(
            UserID(user.user_id),
            base_url=synapse.url,
            token=user.access_token,
            client_session=session,
        )
        room = await carol.create_room(preset=RoomCreatePreset.PRIVATE, invitees=[UserID(bot_mxid)])
        web_port = harness.free_port()
        listen_port = harness.free_port()
        reg = synapse.registration
        raw: dict[str, Any] = {
            "bridge": {"data_dir": str(tmp_path / "data")},
            "waku": {"rest_host": "127.0.0.1", "rest_port": harness.free_port()},
            "web": {"port": web_port, "public_url": f"http://127.0.0.1:{web_port}"},
            "telegram": {
                "token": tg_bot.token,
                "api_base_url": tg.base_url,
                "file_base_url": tg.base_file_url,
            },
            "matrix": {
                "homeserver_url": synapse.url,
                "server_name": synapse.server_name,
                "listen_port": listen_port,
                "bot_localpart": reg.bot_localpart,
                "puppet_prefix": reg.puppet_prefix,
            },
            "rooms": [{"name": "main", "telegram_chats": [group.id], "chats": [f"matrix:{room}"]}],
        }
        env = {"PARLEY_MATRIX_AS_TOKEN": reg.as_token, "PARLEY_MATRIX_HS_TOKEN": reg.hs_token}
        settings = parse_config(raw, base_dir=tmp_path, env=env, platforms=PLATFORMS)
        base = harness.test_tuning()
        matrix = {"health_interval": 0.2, "fetch_policy": LOOPBACK_POLICY}
        tuning = harness.with_tuning(
            base, platform_options={**base.platform_options, "matrix": matrix}
        )
        bridge = Bridge(settings, generate_private_key())
        relay = wire_features(bridge, tuning=tuning, platforms=PLATFORMS)
        synapse.gateway.target = f"http://127.0.0.1:{listen_port}"
        async with contextlib.AsyncExitStack() as stack:
            stack.callback(setattr, synapse.gateway, "target", None)
            await stack.enter_async_context(bridge)
            async with asyncio.timeout(20):
                while not all(a.is_connected() for a in relay.adapters.values()):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert set(relay.adapters) == {"telegram", "matrix"}

            tg.user_sends(group, alice, "hello from telegram")

            def puppet_copy(events: list[dict[str, Any]]) -> dict[str, Any] | None:
                return next(
                    (
                        e
                        for e in events
                        if e["type"] == "m.room.message"
                        and e["content"].get("body") == "hello from telegram"
                    ),
                    None,
                )

            async with asyncio.timeout(20):
                while (copy := puppet_copy(await _timeline(carol, room))) is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
            assert copy["sender"] == f"@parley_telegram_{alice.id}:{synapse.server_name}"
            profile = await carol.get_profile(copy["sender"])
            assert profile.displayname is not None and "Alice" in profile.displayname

            reply_to = copy["event_id"]
            await carol.send_message_event(
                room,
                EventType.ROOM_MESSAGE,
                {  # type: ignore[arg-type]
                    "msgtype": "m.text",
                    "body": "hello from matrix",
                    "m.relates_to": {"m.in_reply_to": {"event_id": reply_to}},
                },
            )
            seen = await tg.wait_for_sent(lambda m: "hello from matrix" in m.content, timeout=20)
            assert "e2e_carol" in seen.content  # the Matrix author's name heads the copy
            assert seen.reply_to is not None and seen.reply_to.content == "hello from telegram"

            # A command is an inbound event like a message: the relay's sink runs it, the
            # adapter answers as the bot, and nothing of it is relayed to Telegram.
            await carol.send_message_event(
                room,
                EventType.ROOM_MESSAGE,
                {"msgtype": "m.text", "body": "!rooms"},  # type: ignore[arg-type]
            )

            def answer(events: list[dict[str, Any]]) -> dict[str, Any] | None:
                return next(
                    (
                        e
                        for e in events
                        if e["sender"] == bot_mxid and e["content"].get("msgtype") == "m.notice"
                    ),
                    None,
                )

            async with asyncio.timeout(20):
                while (notice := answer(await _timeline(carol, room))) is None:  # noqa: ASYNC110
                    await asyncio.sleep(0.1)
            assert "main" in notice["content"]["body"]
            await relay.wait_idle()
            assert not [m for m in tg.messages(group) if "rooms" in m.content]
