"""Interop, Parley -> js-waku: js-waku's own decoders open what Parley encrypts and signs."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from crypto.keys import generate_private_key, public_key
from crypto.payload import encrypt_asymmetric, encrypt_symmetric

pytestmark = pytest.mark.node

REPO = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).resolve().parent / "js" / "decrypt.mjs"
CONTENT_TOPIC = "/parley/1/interop/proto"
PUBSUB_TOPIC = "/waku/2/rs/1/0"
SIZES = (0, 1, 29, 188, 189, 254, 255, 256, 1000, 65535, 65536, 150 * 1024)


def _js_decrypt(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the interop test needs Node 20 (`make setup-test`)")
    proc = subprocess.run(
        [node, str(SCRIPT)],
        input=json.dumps(items),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"js-waku decrypt script failed (run `make node`?):\n{proc.stderr[-4000:]}")
    results: list[dict[str, Any]] = json.loads(proc.stdout)
    assert len(results) == len(items)
    return results


def _payload(size: int) -> bytes:
    return bytes((i * 31 + 7) & 0xFF for i in range(size))


def test_js_waku_decrypts_all_four_kinds() -> None:
    sym_key = bytes(range(32))
    recipient = generate_private_key()
    signer = generate_private_key()
    signer_pub = public_key(signer)
    items: list[dict[str, Any]] = []
    expected: list[tuple[bytes, bytes | None]] = []
    for size in SIZES:
        payload = _payload(size)
        for signing_key in (None, signer):
            for kind in ("symmetric", "asymmetric"):
                if kind == "symmetric":
                    wire, key = encrypt_symmetric(payload, sym_key, signing_key), sym_key
                else:
                    # Alternate compressed/uncompressed recipient keys: both are accepted inputs.
                    recipient_pub = public_key(recipient, compressed=size % 2 == 1)
                    wire = encrypt_asymmetric(payload, recipient_pub, signing_key)
                    key = recipient
                items.append(
                    {
                        "kind": kind,
                        "key": key.hex(),
                        "payload": wire.hex(),
                        "content_topic": CONTENT_TOPIC,
                        "pubsub_topic": PUBSUB_TOPIC,
                    }
                )
                expected.append((payload, signer_pub if signing_key else None))

    results = _js_decrypt(items)

    for item, result, (payload, expected_signer) in zip(items, results, expected, strict=True):
        label = f"{item['kind']} {len(payload)} B {'signed' if expected_signer else 'unsigned'}"
        assert result["ok"], f"js-waku refused {label}: {result.get('error')}"
        assert result["payload"] == payload.hex(), label
        assert result["plaintext_length"] % 256 == 0, label
        if expected_signer is None:
            assert result["signer"] is None, label
            assert result["signature"] is None, label
        else:
            assert result["signer"] == expected_signer.hex(), label
            assert len(bytes.fromhex(result["signature"])) == 65, label
            assert bytes.fromhex(result["signature"])[64] in (0, 1), label


def test_js_waku_refuses_tampered_and_wrong_key_payloads() -> None:
    """The harness itself can fail: js-waku must reject what it should reject."""
    sym_key = bytes(range(32))
    recipient = generate_private_key()
    sym_wire = bytearray(encrypt_symmetric(b"hello", sym_key))
    sym_wire[3] ^= 0x01
    asym_wire = bytearray(encrypt_asymmetric(b"hello", public_key(recipient)))
    asym_wire[-1] ^= 0x01
    common = {"content_topic": CONTENT_TOPIC, "pubsub_topic": PUBSUB_TOPIC}
    items = [
        {"kind": "symmetric", "key": sym_key.hex(), "payload": sym_wire.hex(), **common},
        {"kind": "asymmetric", "key": recipient.hex(), "payload": asym_wire.hex(), **common},
        {
            "kind": "symmetric",
            "key": bytes(32).hex(),
            "payload": encrypt_symmetric(b"hello", sym_key).hex(),
            **common,
        },
    ]
    assert [r["ok"] for r in _js_decrypt(items)] == [False, False, False]
