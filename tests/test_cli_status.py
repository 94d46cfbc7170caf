"""``parley check`` shows each Status community room's stored state (issue 10)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import coincurve

from bots.registry import PLATFORMS
from bridge.config import load_config
from bridge.proto import application_metadata_message_pb2 as app_pb
from bridge.proto import communities_pb2 as pb
from bridge.store import Store, status_communities
from crypto.keccak import keccak256
from tests.test_cli import PASSPHRASE, clean_env, init, parley

COMMUNITY = coincurve.PrivateKey(b"\x42" * 32)
CID = "0x" + COMMUNITY.public_key.format().hex()
GENERAL = "0b6c1f3e-2a4d-4e5f-8a9b-1c2d3e4f5a6b"


def signed_description(member: str) -> bytes:
    d = pb.CommunityDescription(clock=3, ID=CID)
    d.identity.display_name = "Parley Friends"
    d.permissions.access = pb.CommunityPermissions.Access.MANUAL_ACCEPT
    d.members[member].CopyFrom(pb.CommunityMember())
    d.chats[GENERAL].identity.display_name = "general"
    # ValidateCommunityDescription: every chat needs permissions.
    d.chats[GENERAL].permissions.access = pb.CommunityPermissions.Access.AUTO_ACCEPT
    payload = d.SerializeToString()
    return app_pb.ApplicationMetadataMessage(
        signature=COMMUNITY.sign_recoverable(keccak256(payload), hasher=None),
        payload=payload,
        type=app_pb.ApplicationMetadataMessage.Type.COMMUNITY_DESCRIPTION,
    ).SerializeToString()


async def store_description(db: Path, description: bytes) -> None:
    store = await Store.open(db)
    try:
        async with store.transaction() as conn:
            row = status_communities.CommunityRow(CID, clock=3, description=description)
            await status_communities.put(conn, row, 0.0)
    finally:
        await store.close()


def test_check_shows_community_state(tmp_path: Path) -> None:
    env = clean_env(PARLEY_KEY_PASSPHRASE=PASSPHRASE)
    assert init(tmp_path, env).returncode == 0
    config = tmp_path / "config.toml"
    text = config.read_text()
    assert 'waku_chat = "parley-general"' in text
    config.write_text(
        text.replace(
            'waku_chat = "parley-general"',
            f'status_community = "{CID}"\nstatus_channel = "general"',
        )
    )
    before = parley("check", "--config", str(config), env=env)
    assert "Status community general: unknown" in before.stdout, before.stdout + before.stderr

    shown = parley("keys", "show", "--config", str(config), env=env)
    pub = next(
        line.split()[-1] for line in shown.stdout.splitlines() if line.startswith("public key:")
    )
    db = load_config(config, env={}, platforms=PLATFORMS).store_path
    asyncio.run(store_description(db, signed_description(pub)))
    after = parley("check", "--config", str(config), env=env)
    assert "Status community general: Parley Friends: can_post" in after.stdout, after.stdout
