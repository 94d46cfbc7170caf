"""[[rooms]] status_community / status_channel and the bridge name Status accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.registry import PLATFORMS
from bridge.config import ConfigError, load_config

KEY = "zQ3shYSHp7GoiXaauJMnDcjwU2yNjdzpXLosAWapPS4CFxc11"
COMMUNITY_ID = "0x02a3d2fdb9ac335917bf9d46b38d7496c00bbfadbaf832e8aa61d13ac2b4452084"
CHANNEL = "003cdcd5-e065-48f9-b166-b1a94ac75a11"


def _load(tmp_path: Path, rooms: str, bridge: str = "") -> dict[str, str]:
    path = tmp_path / "config.toml"
    path.write_text(f"[bridge]\n{bridge}\n{rooms}")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={}, platforms=PLATFORMS)
    return dict(info.value.problems)


def test_community_link_and_channel_name_load(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[bridge]\nname = "Parley Bridge"\n'
        f'[[rooms]]\nname = "a"\nstatus_community = "https://status.app/c#{KEY}"\n'
        'status_channel = "general"\n'
        f'[[rooms]]\nname = "b"\nstatus_community = "https://status.app/cc/{CHANNEL}#{KEY}"\n'
    )
    settings = load_config(path, env={}, platforms=PLATFORMS)
    a, b = settings.rooms
    assert a.status_ref is not None and a.status_ref.community_id == COMMUNITY_ID
    assert a.status_channel == "general"
    assert b.status_ref is not None and b.status_ref.channel_uuid == CHANNEL


def test_bad_link_is_reported_with_its_key(tmp_path: Path) -> None:
    found = _load(
        tmp_path,
        '[[rooms]]\nname = "a"\nstatus_community = "0x1234"\nstatus_channel = "general"\n',
        'name = "Parley Bridge"',
    )
    assert "66 hex" in found["rooms[0].status_community"]


def test_community_link_needs_a_channel(tmp_path: Path) -> None:
    found = _load(
        tmp_path,
        f'[[rooms]]\nname = "a"\nstatus_community = "{COMMUNITY_ID}"\n',
        'name = "Parley Bridge"',
    )
    assert "channel's name" in found["rooms[0].status_channel"]


def test_channel_without_community_and_conflicts(tmp_path: Path) -> None:
    found = _load(
        tmp_path,
        '[[rooms]]\nname = "a"\nstatus_channel = "general"\n'
        f'[[rooms]]\nname = "b"\nstatus_community = "https://status.app/cc/{CHANNEL}#{KEY}"\n'
        'status_channel = "random"\nwaku_chat = "x"\n'
        f'[[rooms]]\nname = "c"\nstatus_community = "https://status.app/cc/{CHANNEL}#{KEY}"\n',
        'name = "Parley Bridge"',
    )
    assert "needs status_community" in found["rooms[0].status_channel"]
    assert "not both" in found["rooms[1].status_community"]
    assert "agree" in found["rooms[1].status_channel"]
    assert "already in room 'b'" in found["rooms[2].status_channel"]


@pytest.mark.parametrize("name", ["bot", "my.bridge", "a" * 25, "parley-eth"])
def test_bridge_name_must_be_a_status_display_name(tmp_path: Path, name: str) -> None:
    found = _load(
        tmp_path,
        f'[[rooms]]\nname = "a"\nstatus_community = "https://status.app/cc/{CHANNEL}#{KEY}"\n',
        f'name = "{name}"',
    )
    assert "Status" in found["bridge.name"]


def test_short_bridge_name_is_fine_without_communities(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[bridge]\nname = "bot"\n[[rooms]]\nname = "a"\nwaku_chat = "x"\n')
    assert load_config(path, env={}, platforms=PLATFORMS).bridge.name == "bot"


def test_link_shard_must_be_one_the_node_relays(tmp_path: Path) -> None:
    import base64

    import brotli  # type: ignore[import-untyped]

    from bridge.proto import chat_message_pb2, communities_pb2

    channel = communities_pb2.Channel(display_name="general", uuid=CHANNEL)
    data = communities_pb2.URLData(
        content=channel.SerializeToString(), shard=chat_message_pb2.Shard(cluster=16, index=999)
    )
    encoded = base64.urlsafe_b64encode(brotli.compress(data.SerializeToString())).decode()
    found = _load(
        tmp_path,
        f'[[rooms]]\nname = "a"\nstatus_community = "https://status.app/cc/{encoded}#{KEY}"\n',
        'name = "Parley Bridge"',
    )
    assert "/waku/2/rs/16/999" in found["rooms[0].status_community"]


@pytest.mark.parametrize("name", ["Hard Tame Brownbutterfly", "hard tame brownbutterfly"])
def test_a_generated_alias_is_refused_as_the_bridge_name(tmp_path: Path, name: str) -> None:
    from tests.fakes import status_node as sg

    # status-go's own rule (the fake vendors alias/data.go): every message with it is dropped.
    with pytest.raises(sg.StatusDrop, match="not allowed"):
        sg.validate_display_name(name)
    found = _load(
        tmp_path,
        f'[[rooms]]\nname = "a"\nstatus_community = "https://status.app/cc/{CHANNEL}#{KEY}"\n',
        f'name = "{name}"',
    )
    assert "generated alias" in found["bridge.name"]
    assert "pick another name" in found["bridge.name"]
