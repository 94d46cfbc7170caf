"""Interop, js-waku -> Parley: the published js-waku vectors decrypt, verify and re-sign exactly."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crypto.keccak import keccak256
from crypto.keys import decompress_public_key, public_key, sign_recoverable, to_address
from crypto.payload import (
    DecryptionError,
    decrypt_asymmetric,
    decrypt_symmetric,
    ecies_decrypt,
    gcm_decrypt,
)
from tests.conftest import VECTORS

# The same file the session fixture loads; read here only to name the parametrized cases.
_IDS = [entry["id"] for entry in json.loads(VECTORS.read_text())["encrypted"]]


def _entry(vectors: dict[str, Any], vector_id: str) -> dict[str, Any]:
    matches = [e for e in vectors["encrypted"] if e["id"] == vector_id]
    assert len(matches) == 1
    entry: dict[str, Any] = matches[0]
    return entry


def _key(vectors: dict[str, Any], name: str) -> bytes:
    return bytes.fromhex(vectors["keys"][name])


def test_vector_set_covers_all_four_kinds(js_waku_vectors: dict[str, Any]) -> None:
    kinds = {(e["kind"], e["signed"]) for e in js_waku_vectors["encrypted"]}
    assert kinds == {(k, s) for k in ("symmetric", "asymmetric") for s in (False, True)}
    assert len(_IDS) == len(js_waku_vectors["encrypted"]) >= 24


def test_vector_keys_are_consistent(js_waku_vectors: dict[str, Any]) -> None:
    recipient_pub = _key(js_waku_vectors, "recipient_pub")
    signer_pub = _key(js_waku_vectors, "signer_pub")
    community_compressed = _key(js_waku_vectors, "community_pub_compressed")
    assert public_key(_key(js_waku_vectors, "recipient_priv")) == recipient_pub
    assert public_key(_key(js_waku_vectors, "signer_priv")) == signer_pub
    community_priv = _key(js_waku_vectors, "community_priv")
    assert public_key(community_priv, compressed=True) == community_compressed
    assert decompress_public_key(community_compressed) == public_key(community_priv)
    assert decompress_public_key(recipient_pub) == recipient_pub
    assert to_address(community_compressed) == to_address(public_key(community_priv))
    assert len(_key(js_waku_vectors, "sym_key")) == 32


@pytest.mark.parametrize("vector_id", _IDS)
def test_js_waku_vector(js_waku_vectors: dict[str, Any], vector_id: str) -> None:
    entry = _entry(js_waku_vectors, vector_id)
    data = bytes.fromhex(entry["encrypted_payload"])
    symmetric = entry["kind"] == "symmetric"
    key = _key(js_waku_vectors, "sym_key" if symmetric else "recipient_priv")
    decrypt = decrypt_symmetric if symmetric else decrypt_asymmetric

    if entry["expect"] != "ok":
        with pytest.raises(DecryptionError):
            decrypt(data, key)
        return

    decoded = decrypt(data, key)
    assert decoded.payload == bytes.fromhex(entry["payload"])

    plaintext = gcm_decrypt(data, key) if symmetric else ecies_decrypt(data, key)
    # js-waku pads so that the whole plaintext, signature included, is a multiple of 256.
    assert len(plaintext) % 256 == 0
    assert plaintext[0] & 0x04 == (0x04 if entry["signed"] else 0)
    if not entry["signed"]:
        assert decoded.signature is None
        assert decoded.signer is None
        return
    assert decoded.signer == _key(js_waku_vectors, "signer_pub")
    assert decoded.signature == plaintext[-65:]
    assert decoded.signature[64] in (0, 1)
    # RFC 6979 on both sides: re-signing what js-waku signed gives the very same 65 bytes.
    resigned = sign_recoverable(keccak256(plaintext[:-65]), _key(js_waku_vectors, "signer_priv"))
    assert resigned == decoded.signature


@pytest.mark.parametrize("vector_id", _IDS)
def test_js_waku_vector_with_wrong_key_is_rejected(
    js_waku_vectors: dict[str, Any], vector_id: str
) -> None:
    entry = _entry(js_waku_vectors, vector_id)
    data = bytes.fromhex(entry["encrypted_payload"])
    if entry["kind"] == "symmetric":
        with pytest.raises(DecryptionError):
            decrypt_symmetric(data, bytes(a ^ 1 for a in _key(js_waku_vectors, "sym_key")))
    else:
        with pytest.raises(DecryptionError):
            decrypt_asymmetric(data, _key(js_waku_vectors, "signer_priv"))
