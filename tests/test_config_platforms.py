"""A platform brings its own configuration: its ``[<name>]`` section, environment secrets, keys
in ``[[rooms]]`` and cross-checks come from its ``PlatformSpec``; the core lists none of them.

``ECHO`` below is a platform written entirely in this file (as a package under ``bots/`` would
be) and registered by adding it to the tuple of specs the entry point passes: nothing under
``bridge/`` changes for it.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import Field

from bots.registry import PLATFORMS
from bots.telegram.settings import TelegramSettings
from bridge.app import Bridge, wire_features
from bridge.config import (
    ConfigError,
    HttpUrl,
    ListedChat,
    Problem,
    RoomKeys,
    Secret,
    Section,
    Settings,
    parse_config,
    settings_model,
)
from bridge.model import (
    Adapter,
    Author,
    Capabilities,
    ChatId,
    ChatRef,
    Feature,
    InboundSink,
    NativeId,
    NewMessage,
    OutboundMessage,
    RichText,
    UserId,
)
from bridge.platforms import PlatformContext, PlatformSpec
from crypto.keys import generate_private_key
from tests.conftest import REPO

# --- a platform of the test's own -----------------------------------------------------------


class EchoSettings(Section):
    url: HttpUrl | None = None
    token: Secret = None
    admins: list[str] = Field(default_factory=list)

    @property
    def enabled(self) -> bool:
        return self.token is not None


class EchoRoomKeys(RoomKeys):
    echo_rooms: list[str] = Field(default_factory=list)

    def platform_chats(self) -> list[ListedChat]:
        return [
            ListedChat("echo_rooms", f"echo room {name!r}", ChatRef("echo", ChatId(name)))
            for name in self.echo_rooms
        ]


def _check(settings: Settings) -> list[Problem]:
    echo = settings.section(EchoSettings)
    if echo.enabled and echo.url is None:
        return [("echo.url", "required when echo.token is set")]
    return []


def _parse_chat_id(text: str) -> ChatId:
    if not text.isalnum():
        raise ValueError(f"{text!r} is not an echo room (letters and digits)")
    return ChatId(text)


class EchoAdapter(Adapter):
    platform: ClassVar[str] = "echo"
    capabilities: ClassVar[Capabilities] = Capabilities(Feature.NONE, 1000)
    made: ClassVar[list[EchoAdapter]] = []

    def __init__(self, chats: list[ChatId], token: str) -> None:
        self.chats = chats
        self.token = token
        self.sink: InboundSink | None = None
        self.sent: list[OutboundMessage] = []
        EchoAdapter.made.append(self)

    async def start(self, sink: InboundSink) -> None:
        self.sink = sink

    async def stop(self) -> None:
        self.sink = None

    def is_connected(self) -> bool:
        return self.sink is not None

    async def send(self, delivery: OutboundMessage) -> NativeId:
        self.sent.append(delivery)
        return NativeId(f"copy-{len(self.sent)}")


def _factory(context: PlatformContext) -> Adapter:
    echo = context.settings.section(EchoSettings)
    assert echo.token is not None
    return EchoAdapter(list(context.chats), echo.token.get_secret_value())


ECHO = PlatformSpec(
    name="echo",
    settings_model=EchoSettings,
    enabled=lambda settings: settings.section(EchoSettings).enabled,
    factory=_factory,
    parse_chat_id=_parse_chat_id,
    parse_user_ref=lambda text: UserId(text[1:]) if text.startswith("~") else None,
    to_native_text=lambda rich: rich.text,
    env_secrets=(("PARLEY_ECHO_TOKEN", "token"),),
    room_keys=EchoRoomKeys,
    check=_check,
)
REGISTRY = (*PLATFORMS, ECHO)  # the one registry line


def load(tmp_path: Path, raw: dict[str, Any], env: dict[str, str] | None = None) -> Settings:
    return parse_config(raw, base_dir=tmp_path, env=env or {}, platforms=REGISTRY)


def problems(tmp_path: Path, raw: dict[str, Any], **kw: Any) -> dict[str, str]:
    with pytest.raises(ConfigError) as failed:
        parse_config(raw, base_dir=tmp_path, env={}, **kw)
    return dict(failed.value.problems)


# --- the section, the room keys, the secrets ------------------------------------------------


def test_a_registered_platform_brings_its_section_and_room_keys(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        {
            "echo": {"url": "https://echo.example/", "admins": ["ann"]},
            "telegram": {"admins": [5]},
            "rooms": [
                {
                    "name": "main",
                    "echo_rooms": ["lobby"],
                    "telegram_chats": [-100],
                    "chats": ["echo:annex", "echo:lobby"],
                }
            ],
        },
        env={"PARLEY_ECHO_TOKEN": "echo-secret-1", "PARLEY_ECHO__ADMINS": "ann, bob"},
    )
    echo = settings.section(EchoSettings)
    assert echo.url == "https://echo.example/"
    assert echo.admins == ["ann", "bob"]  # PARLEY_<SECTION>__<KEY> reaches it like any section
    assert echo.token is not None and echo.token.get_secret_value() == "echo-secret-1"
    assert settings.section(TelegramSettings).admins == [5]
    [room] = settings.rooms
    assert room.keys(EchoRoomKeys).echo_rooms == ["lobby"]
    # The platforms' own keys first (in registry order), then ``chats``; each chat once.
    assert [str(c) for c in room.members] == ["telegram:-100", "echo:lobby", "echo:annex"]
    # Every Secret of every section is masked in logs, the new platform's too.
    assert "echo-secret-1" in settings.secrets()
    assert "echo-secret-1" not in repr(settings) + settings.model_dump_json()


def test_its_problems_name_their_keys(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {
            "echo": {"tokn": "x", "url": "ftp://nope"},
            "rooms": [
                {"name": "a", "echo_rooms": ["lobby"], "echo_room": ["x"]},
                {"name": "b", "chats": ["echo:lobby", "echo:no-dashes"]},
            ],
        },
        platforms=REGISTRY,
    )
    assert found["echo.tokn"] == "unknown key 'echo.tokn' — did you mean 'token'?"
    assert found["echo.url"] == "must be an http:// or https:// URL"
    assert "did you mean 'echo_rooms'" in found["rooms[0].echo_room"]
    assert "'no-dashes' is not an echo room" in found["rooms[1].chats"]
    found = problems(
        tmp_path,
        {
            "rooms": [
                {"name": "a", "echo_rooms": ["lobby"]},
                {"name": "b", "chats": ["echo:lobby"]},
                {"name": "c", "echo_rooms": ["lobby"]},
            ]
        },
        platforms=REGISTRY,
    )
    # One chat, one room, whichever key names it.
    assert found == {
        "rooms[1].chats": "echo:lobby is already in room 'a'",
        "rooms[2].echo_rooms": "echo room 'lobby' is already in room 'a'",
    }


def test_a_chat_is_in_one_room_whichever_key_names_it(tmp_path: Path) -> None:
    found = problems(
        tmp_path,
        {
            "rooms": [
                {"name": "a", "telegram_chats": [-100], "waku_chat": "lobby"},
                {"name": "b", "chats": ["telegram:-100"], "waku_chat": "lobby"},
            ]
        },
        platforms=PLATFORMS,
    )
    assert found == {
        "rooms[1].chats": "telegram:-100 is already in room 'a'",
        "rooms[1].waku_chat": "chat 'lobby' is already in room 'a'",
    }


def test_its_cross_check_runs_with_the_others(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as failed:
        load(tmp_path, {"waku": {"mode": "nwaku"}}, env={"PARLEY_ECHO_TOKEN": "t"})
    assert dict(failed.value.problems) == {
        "waku.nwaku_url": "required when waku.mode is 'nwaku'",
        "echo.url": "required when echo.token is set",
    }


def test_a_platform_cannot_hide_a_core_section() -> None:
    for name in ("waku", "rooms", "avatars"):
        spec = PlatformSpec(
            name=name,
            settings_model=EchoSettings,
            enabled=ECHO.enabled,
            factory=_factory,
            parse_chat_id=_parse_chat_id,
            parse_user_ref=ECHO.parse_user_ref,
            to_native_text=ECHO.to_native_text,
        )
        with pytest.raises(ValueError, match="core's section"):
            settings_model([spec])


# --- a build without a platform -------------------------------------------------------------


def test_a_platform_missing_from_the_build_is_named(tmp_path: Path) -> None:
    raw = {"echo": {"token": "t"}, "rooms": [{"name": "a", "chats": ["echo:lobby"]}]}
    found = problems(tmp_path, raw, platforms=PLATFORMS)
    assert found == {
        "echo": "unknown section 'echo' (neither a core section nor a platform of this build: "
        "telegram, discord, matrix, waku)",
        "rooms[0].chats": "'echo:lobby': this build has no platform 'echo' "
        "(platforms: telegram, discord, matrix, waku)",
    }
    # Settings loaded without a platform read its section as its defaults: it is off.
    settings = parse_config({}, base_dir=tmp_path, env={"PARLEY_ECHO_TOKEN": "t"})
    assert not ECHO.enabled(settings)
    assert settings.rooms == [] and settings.secrets() == []


def test_the_core_alone_names_the_sections_it_does_not_know(tmp_path: Path) -> None:
    # ``python -m bridge.cli`` is the core without ``bots``: no platform is registered.
    result = subprocess.run(
        [sys.executable, "-m", "bridge.cli", "check", "--config", "config.example.toml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 2, result.stderr
    assert (
        "telegram: unknown section 'telegram' (neither a core section nor a platform of this "
        "build: none)" in result.stdout
    )
    assert (
        "rooms[0].telegram_chats: unknown key 'rooms[0].telegram_chats': it lists 'telegram' "
        "chats, but this build has no platform 'telegram' (platforms: none)\n" in result.stdout
    )
    assert "did you mean" not in result.stdout


def test_a_room_key_of_a_platform_missing_from_the_build_is_named(tmp_path: Path) -> None:
    # The core knows only the registered platforms' room keys: a key shaped like a platform's
    # list of chats names that platform instead of suggesting a core key that looks alike.
    room = {
        "name": "a",
        "echo_rooms": ["lobby"],
        "telegarm_chats": [1],
        "status_channels": "general",
    }
    found = problems(tmp_path, {"rooms": [room]}, platforms=PLATFORMS)
    known = "(platforms: telegram, discord, matrix, waku)"
    assert found == {
        "rooms[0].echo_rooms": "unknown key 'rooms[0].echo_rooms': it lists 'echo' chats, but "
        f"this build has no platform 'echo' {known}",
        "rooms[0].telegarm_chats": "unknown key 'rooms[0].telegarm_chats': it lists 'telegarm' "
        f"chats, but this build has no platform 'telegarm' {known} — did you mean "
        "'telegram_chats'?",
        # A core key's typo keeps its suggestion.
        "rooms[0].status_channels": "unknown key 'rooms[0].status_channels' — did you mean "
        "'status_channel'?",
    }


# --- and the bridge runs it -----------------------------------------------------------------


async def test_the_bridge_runs_a_platform_it_was_only_given_a_spec_for(tmp_path: Path) -> None:
    settings = load(
        tmp_path,
        {
            "bridge": {"data_dir": "data"},
            "waku": {"rest_port": 0},
            "web": {"port": 0},
            "echo": {"url": "https://echo.example"},
            "rooms": [{"name": "main", "echo_rooms": ["lobby"], "chats": ["echo:annex"]}],
        },
        env={"PARLEY_ECHO_TOKEN": "echo-secret-2"},
    )
    EchoAdapter.made.clear()
    bridge = Bridge(settings, generate_private_key())
    wire_features(bridge, platforms=REGISTRY)
    async with bridge:
        [adapter] = EchoAdapter.made
        assert sorted(adapter.chats) == ["annex", "lobby"] and adapter.token == "echo-secret-2"
        assert adapter.sink is not None
        author = Author("echo", UserId("ann"), "Ann")
        await adapter.sink(
            NewMessage(
                ChatRef("echo", ChatId("lobby")),
                NativeId("1"),
                author,
                RichText("hello from the lobby"),
                datetime.now(UTC),
            )
        )
        for _ in range(200):
            if adapter.sent:
                break
            await asyncio.sleep(0.05)
        [copy] = adapter.sent
        assert copy.target == ChatRef("echo", ChatId("annex"))
        assert copy.text.text.endswith("hello from the lobby")
