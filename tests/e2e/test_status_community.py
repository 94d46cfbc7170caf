"""A Status community channel end to end: configuration errors for bad community links and
ids. (The joining/talking tests through the real bridge and the status-go fake are added once
the bridge can join: see tests/fakes/status_node.py.)"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridge.config import ConfigError, parse_config

KEY = "zQ3shYSHp7GoiXaauJMnDcjwU2yNjdzpXLosAWapPS4CFxc11"  # messenger_share_urls_test.go


def _config(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    raw: dict[str, Any] = {
        "bridge": {"name": "parley", "data_dir": str(tmp_path)},
        "telegram": {"token": "1:x"},
        "rooms": [{"name": "main", "telegram_chats": [-100]}],
    }
    edit(raw)
    parse_config(raw, base_dir=tmp_path, env={})


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
