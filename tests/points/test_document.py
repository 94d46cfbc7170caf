"""The canonical list: streamed and in-memory forms are the same bytes, and the independent
check refuses every kind of tampering."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bridge.feed.record import cid_v1_raw
from bridge.points.cycle import DocumentError, build_document, verify_document, write_document
from bridge.points.merkle import claim_root

TOKEN = "0x" + "ab" * 20
WALLETS = ["0x" + f"{i:02x}" * 20 for i in range(0xA0, 0xAB)]


@pytest.mark.parametrize("count", [1, 2, 5, 11])
def test_streamed_list_is_the_canonical_one(tmp_path: Path, count: int) -> None:
    amounts = {w: (i + 1) * 10**18 for i, w in enumerate(WALLETS[:count])}
    document = build_document(4, TOKEN, amounts)
    root, cid = write_document(tmp_path / "4.json", 4, TOKEN, amounts)
    data = (tmp_path / "4.json").read_bytes()
    assert data == document.data and (root, cid) == (document.root, document.cid)
    assert cid == cid_v1_raw(data) and cid.startswith("bafkrei")
    assert (tmp_path / "4.json").stat().st_mode & 0o777 == 0o600
    # The root is also the feed tree's (an independent implementation of the same pairing).
    assert root == "0x" + claim_root(document.amounts).hex()
    parsed = json.loads(data)
    assert list(parsed) == ["claims", "cycle", "root", "token"]
    assert parsed["cycle"] == 4 and parsed["token"].lower() == TOKEN
    assert all(set(c) == {"amount", "proof"} for c in parsed["claims"].values())
    assert verify_document(data).amounts == document.amounts


def test_tampering_is_refused() -> None:
    amounts = {w: 10**18 for w in WALLETS[:5]}
    data = build_document(1, TOKEN, amounts).data
    parsed = json.loads(data)

    def again(change: dict[str, object]) -> bytes:
        return json.dumps(change, separators=(",", ":")).encode()

    wallet = next(iter(parsed["claims"]))
    more = json.loads(data)
    more["claims"][wallet]["amount"] = str(2 * 10**18)
    with pytest.raises(DocumentError, match="does not lead to the root"):
        verify_document(again(more))
    dropped = json.loads(data)
    del dropped["claims"][wallet]
    with pytest.raises(DocumentError, match="not the tree over exactly these claims"):
        verify_document(again(dropped))
    spaced = json.dumps(parsed, indent=1).encode()
    with pytest.raises(DocumentError, match="canonical"):
        verify_document(spaced)
    lower = data.replace(wallet.encode(), wallet.lower().encode())
    assert lower != data
    with pytest.raises(DocumentError, match="EIP-55"):
        verify_document(lower)
    with pytest.raises(DocumentError):
        verify_document(b"[]")
    with pytest.raises(DocumentError):
        verify_document(again({**parsed, "extra": 1}))
