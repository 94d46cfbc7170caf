"""``parley check``: each Status community room's state as the store last knew it, read
without unlocking the identity key (members are matched by the keystore's address) and without
writing to the database of a bridge that may be running."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from bridge.status.community import REQUEST_TIMEOUT_S, Membership, parse_description
from bridge.status.types import StatusDecodeError
from bridge.waku.community import CommunityRoom
from crypto.keys import to_address

__all__ = ["stored_states"]

_Row = tuple[bytes | None, float | None, int, int]


def _row(db_path: Path, community_id: str) -> _Row | None:
    if not db_path.is_file():
        return None
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
            found = db.execute(
                "SELECT description, first_request_at, requests, was_member"
                " FROM status_communities WHERE community_id = ?",
                (community_id,),
            ).fetchone()
    except sqlite3.Error:  # no such table yet (never ran this version), locked, ...
        return None
    if found is None:
        return None
    return found[0], found[1], int(found[2]), int(found[3])


def _address(key: str) -> str:
    try:
        return to_address(bytes.fromhex(key[2:])).lower()
    except ValueError:
        return ""


def _state(room: CommunityRoom, row: _Row, address: str) -> str:
    description, first, requests, was_member = row
    if description is None:
        return Membership.REQUESTED.value if requests else Membership.UNKNOWN.value
    try:
        view = parse_description(description, room.community_id)
    except StatusDecodeError:
        return "stored description unusable"
    d = view.description
    mine = [k for k in (*d.members, *d.banned_members, *d.ban_list) if _address(k) == address]
    key = mine[0] if mine else ""
    uuid = room.channel_uuid
    if uuid is None and room.channel is not None:
        channel = view.channel(room.channel)
        if channel is None:
            return f"community {view.name!r} has no channel {room.channel!r}"
        uuid = channel.uuid
    state = view.membership(key, uuid, was_member=bool(was_member))
    if state is Membership.UNKNOWN and requests:
        expired = first is not None and time.time() - first > REQUEST_TIMEOUT_S
        state = Membership.DECLINED if expired else Membership.REQUESTED
    return f"{view.name or room.community_id}: {state.value} (description clock {view.clock})"


def stored_states(db_path: Path, rooms: dict[str, CommunityRoom], address: str) -> list[str]:
    """One line per room: its community's stored state, or that nothing is known yet."""
    lines = []
    for name, room in rooms.items():
        row = _row(db_path, room.community_id)
        if row is None:
            lines.append(f"{name}: unknown (the bridge has not seen this community yet)")
        else:
            lines.append(f"{name}: {_state(room, row, address)}")
    return lines
