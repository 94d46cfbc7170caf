"""Deliveries to a chat the adapter holds back (a Status community that has not admitted the
bridge yet) wait without spending attempts, go out once released, and expire with the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bridge.outbox import OutboxPolicy
from tests.fakes.relay_adapter import DC, TG, Relay, new_message


@pytest.fixture
async def relay(tmp_path: Path) -> AsyncIterator[Relay]:
    relay = await Relay(tmp_path / "parley.db", policy=OutboxPolicy(max_age=3600.0)).open()
    yield relay
    await relay.close()


async def test_held_chat_waits_then_delivers_in_order(relay: Relay) -> None:
    relay.dc.holding[DC] = "waiting for Status community membership (requested)"
    await relay.handle(new_message(TG, "1", "first"))
    await relay.handle(new_message(TG, "2", "second"))
    await relay.settle()
    await relay.advance(600)
    assert relay.dc.calls == []
    rows = [r for r in await relay.rows() if r.target == DC]
    assert [(r.state, r.attempts) for r in rows] == [("pending", 0), ("pending", 0)]
    del relay.dc.holding[DC]
    await relay.advance(1.0)
    assert [m.text.text for m in relay.dc.sends(DC)] == ["first", "second"]


async def test_held_too_long_expires_with_the_reason(relay: Relay) -> None:
    relay.dc.holding[DC] = "waiting for Status community membership (requested)"
    await relay.handle(new_message(TG, "1", "hi"))
    await relay.settle()
    await relay.advance(3601.0)
    [row] = [r for r in await relay.rows() if r.target == DC]
    assert row.state == "failed"
    assert row.last_error == "expired: waiting for Status community membership (requested)"
