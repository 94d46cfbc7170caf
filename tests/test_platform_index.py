"""The core's view of the platforms (bridge.platform_index): from the registered specs only,
never from platform names in feature code."""

from __future__ import annotations

from bots.matrix import SPEC as MATRIX
from bots.registry import PLATFORMS
from bridge.outbox import Pace
from bridge.platform_index import PlatformIndex, Traits


def test_pacing_comes_from_the_specs_and_a_later_trait_replaces_an_earlier() -> None:
    index = PlatformIndex.of(PLATFORMS)
    pacing = index.pacing()
    assert pacing["telegram"] == Pace(20, 60.0) and pacing["discord"] == Pace(5, 5.0)
    assert "waku" not in pacing
    assert set(index.names) == {"telegram", "discord", "waku", "matrix"}
    faster = PlatformIndex([*index.traits, Traits("telegram", pacing=Pace(30, 60.0))])
    assert faster.pacing()["telegram"] == Pace(30, 60.0)
    assert PlatformIndex([]).pacing() == {}


def test_users_are_read_in_each_platform_syntax_and_the_qualified_form() -> None:
    index = PlatformIndex.of(PLATFORMS)
    assert index.native_user("<@900000000000000001>") == ("discord", "900000000000000001")
    assert index.native_user("<@!12>") == ("discord", "12")
    assert index.native_user("@bob:example.org") == ("matrix", "@bob:example.org")
    assert index.native_user("@bob") is None
    assert index.qualified("telegram:42") == ("telegram", "42")
    assert index.qualified("matrix:@bob:example.org") == ("matrix", "@bob:example.org")
    assert index.qualified("waku:0x04ab") == ("waku", "0x04ab")  # Status keys: the one form
    assert index.qualified("irc:bob") is None  # not a platform of this bridge
    without_matrix = PlatformIndex.of([s for s in PLATFORMS if s is not MATRIX])
    assert without_matrix.qualified("matrix:@bob:example.org") is None
    assert without_matrix.native_user("@bob:example.org") is None


def test_messages_named_by_link_only_where_the_platform_reads_them() -> None:
    index = PlatformIndex.of(PLATFORMS)
    link = "https://discord.com/channels/1/2/123456789012345678"
    assert index.message_ref("discord", link) == "123456789012345678"
    assert index.message_ref("discord", "123456789012345678") == "123456789012345678"
    assert index.message_ref("discord", "12") is None
    assert index.message_ref("telegram", link) is None
    assert PlatformIndex([]).message_ref("discord", link) is None


def test_an_index_without_specs_knows_no_platform() -> None:
    """Features made without the bridge's index (unit tests) know no platform, not even Waku:
    the Status/Waku rooms come in through their spec like every other platform."""
    empty = PlatformIndex.of([])
    assert empty.names == () and empty.qualified("waku:0x04ab") is None
