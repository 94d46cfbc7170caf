"""The Telegram and Discord packages as the registry sees them: one spec each, one line each."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots import discord as discord_pkg
from bots import telegram as telegram_pkg
from bots.discord.text import to_discord
from bots.registry import PLATFORMS
from bots.telegram.text import to_telegram
from bridge.app import Bridge, wire_features
from bridge.config import ConfigError, parse_config, settings_model
from bridge.model import RichText, Span
from crypto.keys import generate_private_key


def test_the_registry_lists_each_platform_once() -> None:
    names = [spec.name for spec in PLATFORMS]
    assert sorted(names) == ["discord", "matrix", "telegram", "waku"]
    assert telegram_pkg.SPEC in PLATFORMS and discord_pkg.SPEC in PLATFORMS


def test_telegram_ids() -> None:
    parse = telegram_pkg.parse_chat_id
    assert parse("-1001234567890") == "-1001234567890"
    assert parse("42") == "42"
    for bad in ("", "abc", "-", "1.5", "@group", "1" * 21):
        with pytest.raises(ValueError):
            parse(bad)
    assert telegram_pkg.parse_user_ref("tg://user?id=12345") == "12345"
    assert telegram_pkg.parse_user_ref("@alice") is None  # a username names no id
    assert telegram_pkg.parse_user_ref("12345") is None


def test_discord_ids() -> None:
    assert discord_pkg.parse_chat_id("112233445566778899") == "112233445566778899"
    for bad in ("", "general", "#general", "-5", "1" * 21):
        with pytest.raises(ValueError):
            discord_pkg.parse_chat_id(bad)
    assert discord_pkg.parse_user_ref("<@112233>") == "112233"
    assert discord_pkg.parse_user_ref("<@!112233>") == "112233"
    for other in ("@alice", "<@&112233>", "<#112233>", "112233"):
        assert discord_pkg.parse_user_ref(other) is None


def test_specs_carry_the_converters_and_pacing() -> None:
    rich = RichText("hi there", (Span("bold", 0, 2),))
    assert telegram_pkg.SPEC.to_native_text(rich) == to_telegram(rich)
    assert discord_pkg.SPEC.to_native_text(rich) == to_discord(rich) == "**hi** there"
    assert telegram_pkg.SPEC.pacing == telegram_pkg.PACING
    assert discord_pkg.SPEC.pacing == discord_pkg.PACING


def test_a_bad_chat_in_chats_is_named_at_start(tmp_path: Path) -> None:
    raw = {
        "bridge": {"data_dir": "data"},
        "web": {"port": 0},
        "waku": {"rest_port": 0},
        "rooms": [{"name": "main", "chats": ["discord:general"]}],
    }
    # The loader names it with its key path...
    with pytest.raises(ConfigError) as failed:
        parse_config(raw, base_dir=tmp_path, env={}, platforms=PLATFORMS)
    [(path, problem)] = failed.value.problems
    assert path == "rooms[0].chats" and "'general' is not a Discord channel id" in problem
    # ...and the relay still refuses settings made without the loader's checks.
    settings = settings_model(PLATFORMS).model_validate(raw, context={"base_dir": tmp_path})
    with pytest.raises(ValueError, match="general"):
        wire_features(Bridge(settings, generate_private_key()), platforms=PLATFORMS)


def test_platforms_are_on_only_with_a_token(tmp_path: Path) -> None:
    settings = parse_config(
        {"bridge": {"data_dir": "data"}}, base_dir=tmp_path, env={}, platforms=PLATFORMS
    )
    assert not telegram_pkg.SPEC.enabled(settings)
    assert not discord_pkg.SPEC.enabled(settings)
    env = {"PARLEY_TELEGRAM_TOKEN": "1:x", "PARLEY_DISCORD_TOKEN": "y"}
    settings = parse_config(
        {"bridge": {"data_dir": "data"}}, base_dir=tmp_path, env=env, platforms=PLATFORMS
    )
    assert telegram_pkg.SPEC.enabled(settings) and discord_pkg.SPEC.enabled(settings)
