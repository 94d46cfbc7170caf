"""status.app links and community ids, checked against status-go's own test vectors
(c72f491 protocol/messenger_share_urls_test.go) rather than against links we made."""

from __future__ import annotations

import base64

import brotli  # type: ignore[import-untyped]
import pytest

from bridge.proto import chat_message_pb2, communities_pb2
from bridge.status.links import LinkError, parse_community

KEY = "zQ3shYSHp7GoiXaauJMnDcjwU2yNjdzpXLosAWapPS4CFxc11"
COMMUNITY_ID = "0x02a3d2fdb9ac335917bf9d46b38d7496c00bbfadbaf832e8aa61d13ac2b4452084"
COMMUNITY_URL = f"https://status.app/c#{KEY}"
COMMUNITY_URL_WITH_DATA = (
    "https://status.app/c/iyKACkQKB0Rvb2RsZXMSJ0NvbG9yaW5nIHRoZSB3b3JsZCB3aXRoIGpveSDigKIg4bSX"
    f"IOKAohiYohsiByMxMzFEMkYqAwEhMwM=#{KEY}"
)
CHANNEL_URL = f"https://status.app/cc/003cdcd5-e065-48f9-b166-b1a94ac75a11#{KEY}"
CHANNEL_URL_WITH_DATA = (
    "https://status.app/cc/G54AAKwObLdpiGjXnckYzRcOSq0QQAS_CURGfqVU42ceGHCObstUIknTTZDOKF3E8y2M"
    "SicncpO7fTskXnoACiPKeejvjtLTGWNxUhlT7fyQS7Jrr33UVHluxv_PLjV2ePGw5GQ33innzeK34pInIgUGs5RjdQ"
    f"ifMVmURalxxQKwiuoY5zwIjixWWRHqjHM=#{KEY}"
)
# status-go's other fixture community (communityURLWithDataNoTags).
PIGS_URL = (
    "https://status.app/c/CxCACh8KBFBJR1MSDHdlIGxvdmUgcGlncxgBIgcjRDM0NEM1Aw=="
    "#zQ3shZp9gY1FXfYkcd3CMrFLHriHQfrXvpF9XbZMwJhTcZsq8"
)


def test_community_link_with_chat_key() -> None:
    ref = parse_community(COMMUNITY_URL)
    assert ref.community_id == COMMUNITY_ID
    assert ref.channel_uuid is None


def test_community_link_with_data() -> None:
    assert parse_community(COMMUNITY_URL_WITH_DATA).community_id == COMMUNITY_ID
    pigs = parse_community(PIGS_URL)
    assert pigs.community_id == (
        "0x02b84843377a24ff498b6c37bd63e2b285c1ee2ccbab82d7a4afa25fff8c5076df"
    )


def test_channel_links() -> None:
    ref = parse_community(CHANNEL_URL)
    assert (ref.community_id, ref.channel_uuid) == (
        COMMUNITY_ID,
        "003cdcd5-e065-48f9-b166-b1a94ac75a11",
    )
    with_data = parse_community(CHANNEL_URL_WITH_DATA)
    assert with_data.community_id == COMMUNITY_ID
    assert with_data.channel_name == "design"  # status-go's test expects "design" too
    assert with_data.channel_uuid is not None


def test_hex_id_and_bare_key() -> None:
    assert parse_community(COMMUNITY_ID).community_id == COMMUNITY_ID
    assert parse_community(COMMUNITY_ID.upper().replace("0X", "0x")).community_id == COMMUNITY_ID
    assert parse_community(KEY).community_id == COMMUNITY_ID


def test_shard_from_link_data() -> None:
    channel = communities_pb2.Channel(
        display_name="general", uuid=("0f3b8c1e-1d2a-4b3c-8d4e-5f6a7b8c9d0e")
    )
    data = communities_pb2.URLData(
        content=channel.SerializeToString(), shard=chat_message_pb2.Shard(cluster=16, index=256)
    )
    encoded = base64.urlsafe_b64encode(brotli.compress(data.SerializeToString())).decode()
    ref = parse_community(f"https://status.app/cc/{encoded}#{KEY}")
    assert ref.shard == (16, 256)
    assert ref.channel_name == "general"


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("0x02a3d2", "66 hex"),
        ("0x04" + "ab" * 32 + "cd", "compressed"),  # 66 hex but not a 02/03 key
        ("0x02" + "ff" * 32, "not a point"),
        ("https://status.app/u#zQ3shwQPhRuDJSjVGVBnTjCdgXy5i9WQaeVPdGJD6yTarJQSj", "user profile"),
        (f"https://status.appc/#{KEY}", "expected a community id"),
        (f"https://status.app/cc#{KEY}", "not a status.app community"),
        (f"https://status.app/a#{KEY}", "not a status.app community"),
        (f"https://status.im/c#{KEY}", "expected a community id"),
        ("https://status.app/cc/not-a-uuid", "no '#"),
        ("https://status.app/c#zQ3sh0OIl", "base58"),
        ("https://status.app/cc/!!!!#" + KEY, "base64"),
        ("https://status.app/cc/____#" + KEY, "brotli"),
        ("general", "expected a community id"),
    ],
)
def test_bad_values_say_why(value: str, words: str) -> None:
    with pytest.raises(LinkError, match=words):
        parse_community(value)


def test_brotli_bomb_is_bounded() -> None:
    bomb = base64.urlsafe_b64encode(brotli.compress(b"\0" * 50_000_000)).decode()
    with pytest.raises(LinkError, match="too large"):
        parse_community(f"https://status.app/cc/{bomb}#{KEY}")
