"""``parley check`` probes every registered platform through its spec (the Telegram and Discord
probes of bots/telegram and bots/discord), against the fake servers' real APIs."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from bots.registry import PLATFORMS
from bridge.cli import _probe_all
from bridge.config import settings_model
from bridge.keyfile import write_keystore
from tests.fakes.discord import FakeDiscord
from tests.fakes.telegram import FakeTelegram


async def test_check_probes_the_configured_platforms_only(tmp_path: Path) -> None:
    async with FakeTelegram() as tg, FakeDiscord() as dc:
        bot = tg.add_bot(username="parley_bot")
        base = {"bridge": {"data_dir": str(tmp_path)}}
        write_keystore(tmp_path / "identity.json", b"\x01" * 32, SecretStr("pw"), scrypt_n=16384)
        settings = settings_model(PLATFORMS).model_validate(
            {
                **base,
                "telegram": {"token": bot.token, "api_base_url": tg.base_url},
                "discord": {"token": dc.token, "api_base_url": dc.api_base},
            }
        )
        results = {
            name: (ok, detail) for name, ok, detail in await _probe_all(settings, 5.0, PLATFORMS)
        }
        assert results["telegram"] == (True, "bot @parley_bot")
        assert results["discord"] == (True, f"bot ParleyBot ({dc.bot_user.id})")
        wrong = settings_model(PLATFORMS).model_validate(
            {**base, "discord": {"token": "not-the-token", "api_base_url": dc.api_base}}
        )
        results = {
            name: (ok, detail) for name, ok, detail in await _probe_all(wrong, 5.0, PLATFORMS)
        }
        assert "telegram" not in results
        assert results["discord"] == (False, "/users/@me answered HTTP 401")
