"""A Status community channel end to end: the real bridge (Telegram and Discord stand-ins, the
embedded Waku node) against a status-go-faithful control node and members
(tests/fakes/status_node.py) that reach the bridge's node through its nwaku REST API and
judge every message with status-go's own rules."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bots.registry import PLATFORMS
from bridge.config import ConfigError, parse_config
from crypto.keys import generate_private_key, public_key, to_address
from tests.e2e.harness import Harness, running_bridge
from tests.fakes import status_node as sg
from tests.fakes.status_proto import (
    chat_message_pb2,
    communities_pb2,
    emoji_reaction_pb2,
    enums_pb2,
)

TIMEOUT = 20
GENERAL = str(uuid.uuid4())
KEY = "zQ3shYSHp7GoiXaauJMnDcjwU2yNjdzpXLosAWapPS4CFxc11"  # messenger_share_urls_test.go


class Community:
    """The keys of one community, fixed before the bridge starts (its link goes in the config)."""

    def __init__(self) -> None:
        self.community_key = generate_private_key()
        self.owner_key = generate_private_key()
        self.id = "0x" + public_key(self.community_key, compressed=True).hex()

    def link(self) -> str:
        return sg.community_link(self.id)

    def configure(self, *, channel: str | None = "general", link: str | None = None) -> Any:
        def edit(raw: dict[str, Any]) -> None:
            room = raw["rooms"][0]
            room.pop("waku_chat", None)
            room["status_community"] = link or self.link()
            if channel is not None:
                room["status_channel"] = channel

        return edit


class Net:
    """The Status side of one test: a control node and members sharing one REST endpoint."""

    def __init__(self, h: Harness, community: Community) -> None:
        self.h = h
        self.waku = sg.RestWaku(f"http://127.0.0.1:{h.settings.waku.rest_port}")
        self.owner = sg.ControlNode(
            self.waku, community_key=community.community_key, owner_key=community.owner_key
        )
        self.general = self.owner.add_channel("general", channel_uuid=GENERAL)
        self.owner.add_channel("random")
        pub = self.owner.community.community_pub
        self.alice = sg.Member(self.waku, key=generate_private_key(), community_pub=pub)
        self.carol = sg.Member(
            self.waku, key=generate_private_key(), community_pub=pub, display_name="Carol Status"
        )
        self.mallory = sg.Member(
            self.waku, key=generate_private_key(), community_pub=pub, display_name="Mallory X"
        )
        # A 2024 Status app (status-go c72f491): no SDS, channel messages on per-channel topics.
        self.olga = sg.Member(
            self.waku,
            key=generate_private_key(),
            community_pub=pub,
            display_name="Olga Old",
            pre_sds=True,
        )
        self.owner.add_member(self.alice.pub)
        self.owner.add_member(self.carol.pub)
        self.owner.add_member(self.olga.pub)

    async def start(self) -> None:
        await self.waku.subscribe(sg.ALL_SHARDS)

    async def close(self) -> None:
        await self.waku.close()

    @property
    def bridge(self) -> bytes:
        return self.h.bridge_public_key

    async def publish(self, *, sds: bool = False) -> None:
        """Publish the description and let every member take it in."""
        await self.owner.publish_description(sds=sds)
        for member in (self.alice, self.carol, self.mallory):
            async with asyncio.timeout(TIMEOUT):
                verdict = await member.wait_for(
                    lambda v: (
                        v.opened is not None
                        and v.opened.app_type == sg.AppType.COMMUNITY_DESCRIPTION
                        and v.reason != "duplicate"
                    )
                )
            assert verdict.shown, verdict.reason

    async def request(self) -> sg.JoinRequest:
        async with asyncio.timeout(TIMEOUT):
            while True:
                for found in await self.owner.poll_requests():
                    if found.signer == self.bridge:
                        return found
                await asyncio.sleep(0.05)

    async def bridged(self, member: sg.Member, text: str) -> sg.Verdict:
        """The bridge's message containing ``text`` as ``member`` judges it."""

        def match(v: sg.Verdict) -> bool:
            if v.opened is None or v.opened.signer != self.bridge:
                return False
            content = v.content
            if content is None and v.opened.app_type == sg.AppType.CHAT_MESSAGE:
                content = chat_message_pb2.ChatMessage.FromString(v.opened.app_payload)
            return isinstance(content, chat_message_pb2.ChatMessage) and text in (
                content.text + content.bridge_message.content
            )

        async with asyncio.timeout(TIMEOUT):
            return await member.wait_for(match)

    async def nothing_from_bridge(self, member: sg.Member, text: str) -> None:
        """Give the bridge time to have posted ``text`` (outbox idle), then check it did not."""
        await self.h.settle()
        for _ in range(10):
            await member.sync()
            await asyncio.sleep(0.05)
        for v in member.verdicts:
            if v.opened is not None and v.opened.signer == self.bridge:
                content = v.content
                assert not (
                    isinstance(content, chat_message_pb2.ChatMessage) and text in content.text
                ), f"the bridge posted {text!r}"


def assert_status_go_shows(verdict: sg.Verdict, net: Net) -> chat_message_pb2.ChatMessage:
    assert verdict.shown, f"status-go would drop the bridge's message: {verdict.reason}"
    opened = verdict.opened
    assert opened is not None
    assert opened.pubsub_topic == sg.DEFAULT_SHARD
    assert opened.wire.content_topic == sg.content_topic(sg.universal_chat_id(net.owner.id))
    assert opened.transport_signer == opened.signer == net.bridge
    content = verdict.content
    assert isinstance(content, chat_message_pb2.ChatMessage)
    assert content.chat_id == net.owner.id + net.general
    assert content.content_type == chat_message_pb2.ChatMessage.ContentType.BRIDGE_MESSAGE
    return content


async def web(h: Harness, path: str) -> str:
    async with aiohttp.ClientSession() as http, http.get(h.web_url + path) as resp:
        return await resp.text()


def metric(body: str, line_start: str) -> float:
    for line in body.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def state(h: Harness) -> str:
    """The bridge's membership state for the room, from /metrics."""
    body = await web(h, "/metrics")
    on = [
        line.split('state="', 1)[1].split('"', 1)[0]
        for line in body.splitlines()
        # The room label is the adapter's name for it ("status:<room>").
        if line.startswith("status_membership{") and f'{h.room}",' in line and line.endswith(" 1.0")
    ]
    assert len(on) == 1, on
    return on[0]


async def relayed(h: Harness, text: str) -> None:
    await h.tg_copy(text, timeout=TIMEOUT)
    await h.dc_copy(text, timeout=TIMEOUT)


async def test_the_bridge_joins_and_talks_in_a_community_channel(tmp_path: Path) -> None:
    community = Community()
    async with running_bridge(tmp_path, configure=community.configure()) as h:
        net = Net(h, community)
        await net.start()
        try:
            await net.publish()

            # The request to join, as status-go's control node reads and judges it.
            request = await net.request()
            assert request.state == "pending", request.state
            assert await state(h) == "requested"
            assert "requested to join" in await web(h, "/health")
            assert request.opened.pubsub_topic == sg.NON_PROTECTED_SHARD
            assert request.opened.wire.content_topic == net.owner.request_topic
            assert request.opened.transport_signer == net.bridge
            assert request.request.display_name == "parley"
            # status-go's clock for requests is Unix seconds (CreateRequestToJoin), which its
            # control node adds seven days to before calling the request expired.
            assert abs(request.request.clock - time.time()) < 120
            assert request.request.community_id == bytes.fromhex(net.owner.id[2:])
            (account,) = request.request.revealed_accounts
            assert account.address.lower() == to_address(net.bridge).lower()

            # Nothing is lost while waiting: this goes out once the bridge may post.
            h.tg.user_sends(h.tg_group, h.alice, "said before acceptance")
            await net.nothing_from_bridge(net.alice, "said before acceptance")

            net.owner.accept(request)
            await net.publish(sds=True)  # current status-go wraps descriptions in SDS
            # A 2024 client reads only unwrapped descriptions: without this copy it would never
            # learn that the bridge was admitted, and would hide everything the bridge posts.
            await net.owner.publish_description()
            verdict = await net.bridged(net.alice, "said before acceptance")
            content = assert_status_go_shows(verdict, net)
            assert content.bridge_message.bridgeName == "telegram"
            assert await state(h) == "can_post"
            # Wrapped in SDS as current status-go wraps community messages.
            assert verdict.opened is not None and verdict.opened.sds is not None
            assert verdict.opened.sds.channel_id == net.owner.id
            # A 2024 client cannot read the SDS copy but reads the plain per-channel one.
            old = await net.bridged(net.olga, "said before acceptance")
            assert old.shown, old.reason
            assert old.opened is not None and old.opened.sds is None
            assert old.opened.wire.content_topic == sg.content_topic(net.owner.id + net.general)
            assert old.opened.message_id == verdict.opened.message_id

            h.dc.user_sends(h.channel.id, h.bob, "hello from discord")
            content = assert_status_go_shows(
                await net.bridged(net.carol, "hello from discord"), net
            )
            assert content.bridge_message.bridgeName == "discord"
            sg.validate_display_name(content.display_name)

            # Members' messages, plain and SDS-wrapped, reach Telegram and Discord.
            question = await net.alice.post("plain from status", net.general)
            await relayed(h, "plain from status")
            await net.carol.post("sds from status", net.general, sds=True)
            await relayed(h, "sds from status")
            await net.olga.post("from a 2024 client", net.general)
            await relayed(h, "from a 2024 client")

            # Another bridge's message (as Status's own Discord bridge posts): its author shows.
            other = net.carol.chat_message(
                "",
                net.general,
                content_type=chat_message_pb2.ChatMessage.ContentType.BRIDGE_MESSAGE,
            )
            other.bridge_message.CopyFrom(
                chat_message_pb2.BridgeMessage(
                    bridgeName="discord", userName="Dana", content="relayed by another bridge"
                )
            )
            wire, _ = net.carol.envelope(other.SerializeToString(), sg.AppType.CHAT_MESSAGE)
            await net.waku.publish(sg.DEFAULT_SHARD, wire)
            other_copy = await h.tg_copy("relayed by another bridge", timeout=TIMEOUT)
            assert "Dana" in other_copy.content

            # A reply in Telegram is a reply in Status; edits and reactions are status-go's own.
            tg_copy = await h.tg_copy("plain from status", timeout=TIMEOUT)
            assert "Alice Status" in tg_copy.content  # the Status display name
            sent = h.tg.user_sends(h.tg_group, h.alice, "answer from telegram", reply_to=tg_copy)
            answer = await net.bridged(net.alice, "answer from telegram")
            assert assert_status_go_shows(answer, net).response_to == question
            assert answer.opened is not None
            h.tg.user_edits(h.tg_group, sent, "answer from telegram, edited")
            async with asyncio.timeout(TIMEOUT):
                edit = await net.alice.wait_for(
                    lambda v: (
                        v.opened is not None
                        and v.opened.signer == net.bridge
                        and v.opened.app_type == sg.AppType.EDIT_MESSAGE
                    )
                )
            assert edit.shown, edit.reason
            assert isinstance(edit.content, chat_message_pb2.EditMessage)
            assert edit.content.message_id == answer.opened.message_id_hex
            assert "edited" in edit.content.text
            h.tg.user_reacts(h.tg_group, h.alice, tg_copy, "👍")
            async with asyncio.timeout(TIMEOUT):
                reaction = await net.alice.wait_for(
                    lambda v: (
                        v.opened is not None
                        and v.opened.signer == net.bridge
                        and v.opened.app_type == sg.AppType.EMOJI_REACTION
                    )
                )
            assert reaction.shown, reaction.reason
            assert isinstance(reaction.content, emoji_reaction_pb2.EmojiReaction)
            assert reaction.content.message_id == question

            # Not a member, then banned: hidden by status-go, so not relayed either.
            await net.mallory.post("from a stranger", net.general)
            net.owner.ban(net.carol.pub)
            await net.publish()
            await net.carol.post("from the banned", net.general)
            await net.alice.post("marker one", net.general)
            await relayed(h, "marker one")
            assert h.tg_copies("from a stranger") == h.tg_copies("from the banned") == []
            assert h.dc_messages("from a stranger") == h.dc_messages("from the banned") == []
            body = await web(h, "/metrics")
            assert metric(body, 'status_refused_total{reason="not_member"}') >= 1
            assert metric(body, 'status_refused_total{reason="banned"}') >= 1

            # A description without the bridge stops its posting.
            net.owner.remove_member(net.bridge)
            await net.publish()
            await net.alice.post("marker two", net.general)
            await relayed(h, "marker two")
            h.tg.user_sends(h.tg_group, h.alice, "after the kick")
            await net.nothing_from_bridge(net.alice, "after the kick")
            assert await state(h) == "kicked"
        finally:
            await net.close()


async def test_a_restart_keeps_the_membership(tmp_path: Path) -> None:
    community = Community()
    async with running_bridge(tmp_path, configure=community.configure()) as h:
        net = Net(h, community)
        await net.start()
        try:
            await net.publish()
            net.owner.accept(await net.request())
            await net.publish()
            h.tg.user_sends(h.tg_group, h.alice, "before the restart")
            assert_status_go_shows(await net.bridged(net.alice, "before the restart"), net)

            await h.restart()
            await net.waku.subscribe(sg.ALL_SHARDS)  # a new REST app: its caches start empty
            # No description is republished: the bridge knows it is a member from its store.
            h.tg.user_sends(h.tg_group, h.alice, "after the restart")
            assert_status_go_shows(await net.bridged(net.alice, "after the restart"), net)
            await net.alice.post("status after restart", net.general)
            await relayed(h, "status after restart")
        finally:
            await net.close()


async def joined(h: Harness, community: Community) -> Net:
    """A Status side where the bridge is an accepted member that may post in #general."""
    net = Net(h, community)
    await net.start()
    await net.publish()
    net.owner.accept(await net.request())
    await net.publish()
    async with asyncio.timeout(TIMEOUT):
        while await state(h) != "can_post":  # noqa: ASYNC110 (no event to wait on)
            await asyncio.sleep(0.05)
    return net


async def test_what_waits_for_membership_survives_a_restart(tmp_path: Path) -> None:
    community = Community()
    async with running_bridge(tmp_path, configure=community.configure()) as h:
        net = Net(h, community)
        await net.start()
        try:
            await net.publish()
            request = await net.request()
            h.tg.user_sends(h.tg_group, h.alice, "queued across a restart")
            await net.nothing_from_bridge(net.alice, "queued across a restart")
            await h.restart()
            await net.waku.subscribe(sg.ALL_SHARDS)
            assert await state(h) == "requested"
            net.owner.accept(request)
            await net.publish()
            verdict = await net.bridged(net.alice, "queued across a restart")
            assert_status_go_shows(verdict, net)
        finally:
            await net.close()


async def test_a_read_only_channel_holds_until_the_owner_lets_the_bridge_post(
    tmp_path: Path,
) -> None:
    community = Community()
    async with running_bridge(tmp_path, configure=community.configure()) as h:
        net = Net(h, community)
        await net.start()
        try:
            owner = net.owner
            # An announcements channel: viewable by everyone (no token criteria, so not
            # encrypted), members listed with their roles, the bridge only a viewer.
            view_only = owner.description.token_permissions["read-only"]
            view_only.id = "read-only"
            view_only.type = communities_pb2.CommunityTokenPermission.CAN_VIEW_CHANNEL
            view_only.chat_ids.append(owner.community.chat_id(net.general))
            await net.publish()
            request = await net.request()
            owner.accept(request)
            owner.add_member(net.bridge, viewer_in=[net.general])
            await net.publish()
            assert net.alice.community.channel_encrypted(net.general) is False
            assert not net.alice.community.can_post(
                net.bridge, net.general, sg.AppType.CHAT_MESSAGE
            )
            async with asyncio.timeout(TIMEOUT):
                while await state(h) != "member":  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            h.tg.user_sends(h.tg_group, h.alice, "waiting for the right to post")
            await net.nothing_from_bridge(net.alice, "waiting for the right to post")

            owner.add_member(net.bridge)  # a poster everywhere now
            await net.publish()
            verdict = await net.bridged(net.alice, "waiting for the right to post")
            assert_status_go_shows(verdict, net)
        finally:
            await net.close()


def _hidden_by_status_go(net: Net) -> dict[str, sg.WireMessage]:
    """Messages from a member that status-go's rules hide, each with the rule that does."""
    alice = net.alice
    random = net.owner.channels["random"]

    def chat(text: str, **changes: Any) -> sg.WireMessage:
        message = alice.chat_message(text, net.general)
        for name, value in changes.items():
            setattr(message, name, value)
        wire, _ = alice.envelope(message.SerializeToString(), sg.AppType.CHAT_MESSAGE)
        return wire

    now = time.time_ns() // 1_000_000
    return {
        "name with a dot": chat("hidden one", display_name="my.bridge"),
        "name ending in _eth": chat("hidden three", display_name="alice_eth"),
        "clock far ahead": chat("hidden seven", clock=now + 10 * 60_000),
        "another channel": chat("hidden nine", chat_id=net.owner.id + random),
    }


async def test_what_status_go_hides_is_not_relayed(tmp_path: Path) -> None:
    community = Community()
    async with running_bridge(tmp_path, configure=community.configure()) as h:
        net = await joined(h, community)
        try:
            cases = _hidden_by_status_go(net)
            for wire in cases.values():
                await net.waku.publish(sg.DEFAULT_SHARD, wire)
            await net.alice.post("visible marker", net.general)
            await relayed(h, "visible marker")
            # status-go hides each case from #general (its own member client says why); the
            # last one it shows, but in #random, which is not this room.
            async with asyncio.timeout(TIMEOUT):
                await net.carol.wait_for(
                    lambda v: (
                        isinstance(v.content, chat_message_pb2.ChatMessage)
                        and v.content.text == "visible marker"
                    )
                )
            alices = [
                v for v in net.carol.verdicts if v.opened and v.opened.signer == net.alice.pub
            ]
            reasons = [v.reason for v in alices[: len(cases)]]
            assert all(reasons[:-1]) and reasons[-1] == "", reasons
            # ... and none reached Telegram or Discord.
            leaked = [
                case
                for case, wire in cases.items()
                if h.tg_copies(_text_of(wire, net)) or h.dc_messages(_text_of(wire, net))
            ]
            assert leaked == [], f"relayed although status-go hides them: {leaked}"
            body = await web(h, "/metrics")
            assert metric(body, 'status_refused_total{reason="display_name"}') >= 2
        finally:
            await net.close()


def _text_of(wire: sg.WireMessage, net: Net) -> str:
    opened = sg.open_message(
        sg.DEFAULT_SHARD, wire, key=sg.sym_key(sg.universal_chat_id(net.owner.id))
    )
    return str(chat_message_pb2.ChatMessage.FromString(opened.app_payload).text)


async def test_edits_and_deletes_both_ways(tmp_path: Path) -> None:
    community = Community()
    async with running_bridge(tmp_path, configure=community.configure()) as h:
        net = await joined(h, community)
        try:
            alice, carol = net.alice, net.carol
            original = await alice.post("first draft from status", net.general)
            tg_copy = await h.tg_copy("first draft from status", timeout=TIMEOUT)

            def edit(member: sg.Member, text: str) -> sg.WireMessage:
                inner = chat_message_pb2.EditMessage(
                    clock=member.next_clock()[0],
                    text=text,
                    chat_id=net.owner.id + net.general,
                    message_id=original,
                    message_type=enums_pb2.COMMUNITY_CHAT,
                    content_type=chat_message_pb2.ChatMessage.ContentType.TEXT_PLAIN,
                )
                return member.envelope(inner.SerializeToString(), sg.AppType.EDIT_MESSAGE)[0]

            def delete(member: sg.Member) -> sg.WireMessage:
                inner = chat_message_pb2.DeleteMessage(
                    clock=member.next_clock()[0],
                    chat_id=net.owner.id + net.general,
                    message_id=original,
                    message_type=enums_pb2.COMMUNITY_CHAT,
                )
                return member.envelope(inner.SerializeToString(), sg.AppType.DELETE_MESSAGE)[0]

            # status-go applies edits and deletes only from the original sender.
            await net.waku.publish(sg.DEFAULT_SHARD, edit(carol, "carol rewrites alice"))
            await net.waku.publish(sg.DEFAULT_SHARD, delete(carol))
            await net.waku.publish(sg.DEFAULT_SHARD, edit(alice, "final text from status"))
            await h.tg.wait_until(lambda: tg_copy.content.endswith("final text from status"), 10)
            await net.waku.publish(sg.DEFAULT_SHARD, delete(alice))
            await h.tg.wait_until(lambda: tg_copy.deleted, 10)
            assert not any("carol rewrites" in m.content for m in h.tg.sent_messages(h.tg_group))

            # A Discord edit and delete reach Status as status-go's own messages.
            sent_id = int(h.dc.user_sends(h.channel.id, h.bob, "bob typed this")["id"])
            bridged = await net.bridged(alice, "bob typed this")
            assert bridged.opened is not None
            for app_type, act in (
                (sg.AppType.EDIT_MESSAGE, lambda: h.dc.user_edits(h.channel.id, sent_id, "fixed")),
                (sg.AppType.DELETE_MESSAGE, lambda: h.dc.user_deletes(h.channel.id, sent_id)),
            ):
                act()
                async with asyncio.timeout(TIMEOUT):
                    verdict = await alice.wait_for(
                        lambda v, t=app_type: (
                            v.opened is not None
                            and v.opened.signer == net.bridge
                            and v.opened.app_type == t
                        )
                    )
                assert verdict.shown, verdict.reason
                target = getattr(verdict.content, "message_id", None)
                assert target == bridged.opened.message_id_hex
        finally:
            await net.close()


async def test_a_description_signed_by_another_key_changes_nothing(tmp_path: Path) -> None:
    community = Community()
    async with running_bridge(tmp_path, configure=community.configure()) as h:
        net = await joined(h, community)
        try:
            # The owner's identity (not the community key) "adds" Mallory: status-go ignores it.
            net.owner.add_member(net.mallory.pub)
            amm = net.owner.description_amm()
            from tests.fakes.status_proto import application_metadata_message_pb2 as amm_pb

            inner = amm_pb.ApplicationMetadataMessage.FromString(amm).payload
            forged = sg.wrap_v1(inner, sg.AppType.COMMUNITY_DESCRIPTION, net.owner.owner_key)
            await net.waku.publish(
                sg.DEFAULT_SHARD, sg.seal(forged, net.owner.id, net.owner.owner_key)
            )
            verdict = await net.alice.wait_for(
                lambda v: (
                    v.opened is not None and v.opened.app_type == sg.AppType.COMMUNITY_DESCRIPTION
                )
            )
            assert verdict.reason == "not authorized"
            await net.mallory.post("forged membership", net.general)
            await net.alice.post("marker after forgery", net.general)
            await relayed(h, "marker after forgery")
            assert h.tg_copies("forged membership") == []
            assert await state(h) == "can_post"
        finally:
            await net.close()


async def test_a_token_gated_community_is_refused_clearly(tmp_path: Path) -> None:
    community = Community()
    async with running_bridge(tmp_path, configure=community.configure()) as h:
        net = Net(h, community)
        await net.start()
        try:
            net.owner.gate_with_token()
            await net.publish()
            async with asyncio.timeout(TIMEOUT):
                while await state(h) != "token_gated":  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert "token-gated" in await web(h, "/health")
        finally:
            await net.close()


async def test_an_unknown_channel_gets_a_clear_error(tmp_path: Path) -> None:
    community = Community()
    async with running_bridge(tmp_path, configure=community.configure(channel="nope")) as h:
        net = Net(h, community)
        await net.start()
        try:
            await net.publish()
            async with asyncio.timeout(TIMEOUT):
                while "has no channel 'nope'" not in await web(h, "/health"):  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            health = await web(h, "/health")
            assert "general" in health and "random" in health  # the channels it does have
        finally:
            await net.close()


def _config(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    raw: dict[str, Any] = {
        "bridge": {"name": "parley", "data_dir": str(tmp_path)},
        "telegram": {"token": "1:x"},
        "rooms": [{"name": "main", "telegram_chats": [-100]}],
    }
    edit(raw)
    parse_config(raw, base_dir=tmp_path, env={}, platforms=PLATFORMS)


@pytest.mark.parametrize(
    ("value", "channel", "needle"),
    [
        ("0x02" + "ab" * 31, "general", "66 hex"),
        (f"https://status.app/u#{KEY}", "x", "user"),
        (f"https://status.app/cc#{KEY}", "x", "link"),
        ("https://status.app/c#zQ3shNOTAKEY", "general", "status_community"),
        (
            f"https://status.app/c#{KEY}",
            None,
            "status_channel",
        ),
    ],
)
def test_bad_links_and_ids_get_clear_errors(
    tmp_path: Path, value: str, channel: str | None, needle: str
) -> None:
    def edit(raw: dict[str, Any]) -> None:
        room = raw["rooms"][0]
        room["status_community"] = value
        if channel is not None:
            room["status_channel"] = channel

    with pytest.raises(ConfigError) as info:
        _config(tmp_path, edit)
    assert needle in str(info.value)
