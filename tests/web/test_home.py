"""``GET /`` (issue 8, item 12): the bridge's name, its public rooms and the links a newcomer
needs, everything escaped."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bots.registry import PLATFORMS
from bridge.app import Bridge, wire_features
from bridge.config import parse_config
from bridge.web.home import PublicRoom, home_page
from crypto.keys import generate_private_key

HOSTILE = '<script>alert("x")</script>&'


def test_everything_on_the_page_is_escaped() -> None:
    page = home_page(
        HOSTILE,
        [PublicRoom("general", ("telegram", "waku"), status_chat=HOSTILE)],
        public_url='https://example.org/"><script>',
    )
    assert "<script>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;" in page
    assert 'href="https://example.org/&quot;&gt;&lt;script&gt;/feed"' in page


async def test_home_page_of_a_running_bridge(tmp_path: Path) -> None:
    raw: dict[str, object] = {
        "bridge": {"data_dir": "data", "name": "Parley <test>"},
        "waku": {"rest_port": 0},
        "web": {"port": 0, "public_url": "https://bridge.example.org"},
        "rooms": [
            {"name": "general", "telegram_chats": [-1001234567890], "waku_chat": "parley-general"},
            {"name": "secret", "waku_chat": "parley-secret", "waku_key": "11" * 32},
        ],
    }
    settings = parse_config(raw, base_dir=tmp_path, env={}, platforms=PLATFORMS)
    bridge = Bridge(settings, generate_private_key())
    wire_features(bridge)
    async with bridge, aiohttp.ClientSession() as http:
        assert bridge.web is not None
        async with http.get(f"{bridge.web.url}/") as response:
            assert response.status == 200
            assert response.content_type == "text/html"
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
            page = await response.text()
    assert "<h1>Parley &lt;test&gt;</h1>" in page
    assert "<strong>general</strong>" in page
    assert "telegram, waku" in page
    assert "<code>parley-general</code>" in page
    assert "-1001234567890" not in page  # chat ids are for admins
    assert "secret" not in page  # a private room is not listed
    for path in ("/feed", "/feed.atom", "/health"):
        assert f'href="https://bridge.example.org{path}"' in page
