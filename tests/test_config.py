"""bridge.config: key paths and suggestions, env overrides, path resolution, the example file."""

from __future__ import annotations

import re
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from bots.discord.settings import DiscordSettings
from bots.registry import PLATFORMS
from bots.telegram.settings import TelegramSettings
from bridge.config import ConfigError, load_config, settings_model

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.example.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def problems(path: Path, env: dict[str, str] | None = None) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load_config(path, env=env or {}, platforms=PLATFORMS)
    return dict(info.value.problems)


# --- the example ---------------------------------------------------------------------------


def test_example_loads_as_is() -> None:
    settings = load_config(EXAMPLE, env={}, platforms=PLATFORMS)
    assert settings.waku.mode == "embedded"
    assert settings.waku.cluster_id == 16
    assert settings.waku.shards == [32, 64, 128, 256]
    assert [room.name for room in settings.rooms] == ["general"]
    assert settings.store.path == REPO / "data" / "parley.db"


def _section_text(text: str, header: str) -> str:
    start = text.index(header + "\n")
    following = re.search(r"^\[", text[start + len(header) :], re.MULTILINE)
    end = start + len(header) + following.start() if following else len(text)
    return text[start:end]


def _model(annotation: Any) -> type[BaseModel] | None:
    for arg in (annotation, *typing.get_args(annotation)):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        for inner in typing.get_args(arg):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def test_example_documents_every_key() -> None:
    text = EXAMPLE.read_text()
    missing: list[str] = []
    for section, field in settings_model(PLATFORMS).model_fields.items():
        model = _model(field.annotation)
        assert model is not None, section
        header = "[[rooms]]" if section == "rooms" else f"[{section}]"
        if header + "\n" not in text:
            missing.append(header)
            continue
        body = _section_text(text, header)
        for key, sub in model.model_fields.items():
            if section == "chain" and key == "tokens":
                continue  # a table of its own: [chain.tokens], checked below
            # Set, or shown commented out.
            if not re.search(rf"^#? ?{key} = ", body, re.MULTILINE):
                missing.append(f"{section}.{key}")
            item = _model(sub.annotation)
            if item is not None and key == "webhooks":
                for sub_key in item.model_fields:
                    if not re.search(rf"\b{sub_key} = ", body):
                        missing.append(f"{section}.{key}.{sub_key}")
    assert "[chain.tokens]\n" in text
    assert missing == []


# --- problems: paths, suggestions, all at once ---------------------------------------------


def test_unknown_key_has_path_and_suggestion(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "[waku]\nrest_prot = 9000\n"))
    assert found == {"waku.rest_prot": "unknown key 'waku.rest_prot' — did you mean 'rest_port'?"}


def test_every_problem_is_reported_with_its_path(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[bridge]
log_level = "LOUD"
[webb]
port = 1
[waku]
rest_port = 70000
mode = "nwaku"
[[rooms]]
name = "a"
telegram_chats = ["not a number"]
nmae = "x"
[chain]
tipjar = "0x1234"
[chain.tokens]
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eb48"
""",
    )
    found = problems(path)
    assert set(found) == {
        "bridge.log_level",
        "webb",
        "waku.rest_port",
        "rooms[0].telegram_chats[0]",
        "rooms[0].nmae",
        "chain.tipjar",
        "chain.tokens.USDC",
    }
    assert "did you mean 'web'" in found["webb"]
    assert "did you mean 'name'" in found["rooms[0].nmae"]
    assert "EIP-55" in found["chain.tokens.USDC"]


def test_cross_section_rules(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[waku]
mode = "nwaku"
[[rooms]]
name = "a"
telegram_chats = [-100]
discord_channels = ["42"]
[[rooms]]
name = "a"
telegram_chats = [-100]
discord_channels = [42]
waku_pubsub_topic = "/waku/2/rs/16/33"
webhooks = [{ channel = 7, id = 8, token = "t" }]
[feed]
auto_post_rooms = ["b"]
anchor = "each"
""",
    )
    found = problems(path)
    assert "required when waku.mode is 'nwaku'" in found["waku.nwaku_url"]
    assert "already used by rooms[0]" in found["rooms[1].name"]
    assert "already in room 'a'" not in found.get("rooms[1].telegram_chats", "")
    assert "shard 33 is not in waku.shards" in found["rooms[1].waku_pubsub_topic"]
    assert "not one of this room's discord_channels" in found["rooms[1].webhooks[0].channel"]
    assert "no room named 'b'" in found["feed.auto_post_rooms[0]"]
    assert "chain.feed_contract" in found
    assert "chain.rpc_url" in found


def test_chat_in_two_rooms(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[rooms]]
name = "one"
telegram_chats = [-100]
discord_channels = [5]
[[rooms]]
name = "two"
telegram_chats = [-100]
discord_channels = ["5"]
""",
    )
    found = problems(path)
    assert found["rooms[1].telegram_chats"] == "chat -100 is already in room 'one'"
    assert found["rooms[1].discord_channels"] == "channel 5 is already in room 'one'"


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "[waku\n"))
    assert list(found) == [""]
    assert "not valid TOML" in found[""]


def test_addresses_and_checksums(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[chain]
tipjar = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
[chain.tokens]
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
""",
    )
    settings = load_config(path, env={}, platforms=PLATFORMS)
    assert settings.chain.tokens["USDC"] == "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
    assert settings.chain.tipjar == "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"


def test_avatars_is_another_name_for_nft(tmp_path: Path) -> None:
    settings = load_config(
        write(tmp_path, "[avatars]\nrecheck_hours = 6\n"), env={}, platforms=PLATFORMS
    )
    assert settings.nft.recheck_hours == 6
    assert settings.avatars is settings.nft
    found = problems(write(tmp_path, "[avatars]\n[nft]\n"))
    assert "same section" in found["avatars"]


# --- paths ---------------------------------------------------------------------------------


def test_relative_paths_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    path = write(
        conf_dir,
        '[bridge]\ndata_dir = "state"\n[identity]\npassphrase_file = "../secret/pass"\n',
    )
    settings = load_config(path, env={}, platforms=PLATFORMS)
    assert settings.bridge.data_dir == conf_dir / "state"
    assert settings.store.path == conf_dir / "state" / "parley.db"
    assert settings.identity.keystore == conf_dir / "state" / "identity.json"
    assert settings.identity.passphrase_file == tmp_path / "secret" / "pass"


def test_defaults_without_sections_resolve_too(tmp_path: Path) -> None:
    settings = load_config(write(tmp_path, ""), env={}, platforms=PLATFORMS)
    assert settings.bridge.data_dir == tmp_path / "data"
    assert settings.web.public_url == "http://127.0.0.1:8080"
    assert settings.section(TelegramSettings).token is None
    assert not settings.section(TelegramSettings).enabled


# --- environment overrides -----------------------------------------------------------------


def test_env_overrides_are_parsed_by_field_type(tmp_path: Path) -> None:
    path = write(tmp_path, "[waku]\nrest_port = 1234\n")
    settings = load_config(
        path,
        env={
            "PARLEY_WAKU__REST_PORT": "9000",
            "PARLEY_WAKU__POLL_INTERVAL": "0.25",
            "PARLEY_WAKU__SHARDS": "32, 64",
            "PARLEY_DISCORD__ADMINS": '["123456789012345678", 5]',
            "PARLEY_WEB__PUBLIC_URL": "https://chat.example.org/",
            "PARLEY_NFT__RECHECK_HOURS": "12",
            "PARLEY_UNRELATED": "ignored",
            "HOME": "/root",
        },
        platforms=PLATFORMS,
    )
    assert settings.waku.rest_port == 9000
    assert settings.waku.poll_interval == 0.25
    assert settings.waku.shards == [32, 64]
    assert settings.section(DiscordSettings).admins == [123456789012345678, 5]
    assert settings.web.public_url == "https://chat.example.org"
    assert settings.nft.recheck_hours == 12


def test_secrets_from_env_stay_secret(tmp_path: Path) -> None:
    settings = load_config(
        write(tmp_path, ""),
        env={
            "PARLEY_TELEGRAM_TOKEN": "123:telegram-secret",
            "PARLEY_DISCORD__TOKEN": "discord-secret",
            "PARLEY_KEY_PASSPHRASE": "pass-secret",
        },
        platforms=PLATFORMS,
    )
    telegram, discord = settings.section(TelegramSettings), settings.section(DiscordSettings)
    assert telegram.token is not None
    assert telegram.token.get_secret_value() == "123:telegram-secret"
    assert discord.token is not None
    assert discord.token.get_secret_value() == "discord-secret"
    assert settings.identity.passphrase is not None
    assert settings.identity.passphrase.get_secret_value() == "pass-secret"
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in ("telegram-secret", "discord-secret", "pass-secret"):
        assert secret not in shown
    assert sorted(settings.secrets()) == ["123:telegram-secret", "discord-secret", "pass-secret"]


def test_empty_env_variable_means_unset(tmp_path: Path) -> None:
    path = write(tmp_path, '[chain]\nrpc_url = "http://127.0.0.1:8545"\n')
    settings = load_config(
        path, env={"PARLEY_TELEGRAM_TOKEN": "", "PARLEY_CHAIN__RPC_URL": ""}, platforms=PLATFORMS
    )
    assert settings.section(TelegramSettings).token is None
    assert settings.chain.rpc_url == "http://127.0.0.1:8545"


def test_env_mistakes_name_the_variable(tmp_path: Path) -> None:
    found = problems(
        write(tmp_path, ""),
        env={
            "PARLEY_WAKU__REST_PORT": "ninety",
            "PARLEY_WAKU__REST_PROT": "1",
            "PARLEY_WBE__PORT": "1",
        },
    )
    assert found["waku.rest_port"].endswith("(set by PARLEY_WAKU__REST_PORT)")
    assert found["env PARLEY_WAKU__REST_PROT"] == (
        "unknown key 'waku.rest_prot' — did you mean 'rest_port'?"
    )
    assert "did you mean 'web'" in found["env PARLEY_WBE__PORT"]


def test_config_error_message_lists_everything(tmp_path: Path) -> None:
    path = write(tmp_path, "[waku]\nrest_prot = 1\ncluster_id = -1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={}, platforms=PLATFORMS)
    message = str(info.value)
    assert "2 configuration problem(s)" in message
    assert "waku.rest_prot" in message
    assert "waku.cluster_id" in message
