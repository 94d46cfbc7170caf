"""The Status/Waku rooms as the registry sees them: one spec in ``bots/waku``, listed once, made
from the same room keys as before (``waku_chat``, ``waku_key``, ``status_community``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots import waku as waku_pkg
from bots.registry import PLATFORMS
from bridge.app import Bridge, wire_features
from bridge.config import load_config, parse_config
from bridge.platform_index import PlatformIndex
from crypto.keys import generate_private_key

KEY = "zQ3shYSHp7GoiXaauJMnDcjwU2yNjdzpXLosAWapPS4CFxc11"


def test_the_waku_rooms_come_in_through_their_spec_only() -> None:
    assert waku_pkg.SPEC in PLATFORMS and waku_pkg.SPEC.name == "waku"
    # /health keeps the component's name of before the move (REST clients read it).
    assert waku_pkg.SPEC.component == "waku_rooms"
    assert "waku" in PlatformIndex.of(PLATFORMS).names
    assert "waku" not in PlatformIndex.of([s for s in PLATFORMS if s is not waku_pkg.SPEC]).names


def test_chat_ids_are_what_status_can_name() -> None:
    assert waku_pkg.parse_chat_id("parley-test") == "parley-test"
    assert waku_pkg.parse_chat_id("status:main") == "status:main"
    with pytest.raises(ValueError):
        waku_pkg.parse_chat_id("")


def test_on_when_a_room_has_a_waku_chat_or_a_community(tmp_path: Path) -> None:
    settings = parse_config({"bridge": {"data_dir": "data"}}, base_dir=tmp_path, env={})
    assert not waku_pkg.SPEC.enabled(settings)
    raw = {"bridge": {"data_dir": "data"}, "rooms": [{"name": "a", "waku_chat": "parley-a"}]}
    settings = parse_config(raw, base_dir=tmp_path, env={})
    assert waku_pkg.SPEC.enabled(settings)
    assert set(waku_pkg.room_configs(settings)) == {"parley-a"}
    path = tmp_path / "config.toml"
    path.write_text(
        '[bridge]\nname = "Parley Bridge"\n'
        f'[[rooms]]\nname = "c"\nstatus_community = "https://status.app/c#{KEY}"\n'
        'status_channel = "general"\n'
    )
    settings = load_config(path, env={})
    assert waku_pkg.SPEC.enabled(settings)
    [config] = waku_pkg.room_configs(settings).values()
    assert config.chat_id == "status:c" and config.community is not None


def test_the_relay_adds_the_waku_component_from_the_spec(tmp_path: Path) -> None:
    raw = {
        "bridge": {"data_dir": "data"},
        "web": {"port": 0},
        "waku": {"rest_port": 0},
        "rooms": [{"name": "a", "waku_chat": "parley-a"}],
    }
    settings = parse_config(raw, base_dir=tmp_path, env={})
    bridge = Bridge(settings, generate_private_key())
    wire_features(bridge, platforms=PLATFORMS)
    names = [getattr(c, "name", "") for c in bridge._extra]
    assert "waku_rooms" in names
    bare = Bridge(settings, generate_private_key())
    wire_features(bare, platforms=[s for s in PLATFORMS if s is not waku_pkg.SPEC])
    assert "waku_rooms" not in [getattr(c, "name", "") for c in bare._extra]
