"""Live js-waku round trip: the pinned js-waku regenerates the vectors, Parley opens them, and
js-waku opens what Parley seals from them.

This is what keeps the committed tests/crypto/vectors/js-waku-vectors.json honest: every section
that does not depend on randomness must come out of the pinned js-waku byte for byte, and the
fresh ciphertexts (new IVs, ephemeral keys and padding on every run) must decrypt in Parley.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bridge.waku.message import WakuMessage, message_hash
from crypto.payload import (
    decrypt_asymmetric,
    decrypt_symmetric,
    encrypt_asymmetric,
    encrypt_symmetric,
)
from tests.conftest import REPO, VECTORS

pytestmark = pytest.mark.node

GENERATOR = REPO / "tests" / "crypto" / "vectors" / "generate.mjs"
DECRYPT = REPO / "tests" / "crypto" / "js" / "decrypt.mjs"
# Ciphertext fields: random per run by design.
RANDOM_FIELDS = {"encrypted_payload", "wire", "message_hash"}


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: this test needs Node 20 (`make setup-test`)")
    return node


def _run_node(script: Path, stdin: str = "") -> str:
    proc = subprocess.run(
        [_node(), str(script)],
        input=stdin,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"{script.name} failed (run `make node`?):\n{proc.stderr[-4000:]}")
    return proc.stdout


@pytest.fixture(scope="module")
def fresh() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_run_node(GENERATOR))
    return data


def test_committed_vectors_are_what_the_pinned_js_waku_produces(fresh: dict[str, Any]) -> None:
    committed: dict[str, Any] = json.loads(VECTORS.read_text())
    package = json.loads((REPO / "package.json").read_text())["devDependencies"]
    for name in ("@waku/message-encryption", "@waku/proto", "@waku/core", "@waku/utils"):
        assert committed["versions"][name] == package[name] == fresh["versions"][name], name
    for section in ("keys", "protobuf", "hashes", "autoshard", "status"):
        assert fresh[section] == committed[section], section
    strip = [{k: v for k, v in e.items() if k not in RANDOM_FIELDS} for e in fresh["encrypted"]]
    assert strip == [
        {k: v for k, v in e.items() if k not in RANDOM_FIELDS} for e in committed["encrypted"]
    ]
    # The random parts really are fresh: a generator that replayed the file would pass above.
    assert all(
        a["encrypted_payload"] != b["encrypted_payload"]
        for a, b in zip(fresh["encrypted"], committed["encrypted"], strict=True)
    )


def test_round_trip_js_waku_to_parley_to_js_waku(fresh: dict[str, Any]) -> None:
    keys = {k: bytes.fromhex(v) for k, v in fresh["keys"].items()}
    resealed: list[dict[str, Any]] = []
    for e in fresh["encrypted"]:
        label = e["id"]
        wire = WakuMessage.decode(bytes.fromhex(e["wire"]))
        assert message_hash(e["pubsub_topic"], wire).hex() == e["message_hash"], label
        symmetric = e["kind"] == "symmetric"
        key = keys["sym_key"] if symmetric else keys["recipient_priv"]
        decoded = (decrypt_symmetric if symmetric else decrypt_asymmetric)(wire.payload, key)
        assert decoded.payload.hex() == e["payload"], label
        assert decoded.signer == (keys["signer_pub"] if e["signed"] else None), label

        signing_key = keys["signer_priv"] if e["signed"] else None
        sealed = (
            encrypt_symmetric(decoded.payload, key, signing_key)
            if symmetric
            else encrypt_asymmetric(decoded.payload, keys["recipient_pub"], signing_key)
        )
        resealed.append(
            {
                "kind": e["kind"],
                "key": key.hex(),
                "payload": sealed.hex(),
                "content_topic": e["content_topic"],
                "pubsub_topic": e["pubsub_topic"],
            }
        )

    results: list[dict[str, Any]] = json.loads(_run_node(DECRYPT, json.dumps(resealed)))
    assert len(results) == len(fresh["encrypted"])
    for e, result in zip(fresh["encrypted"], results, strict=True):
        assert result["ok"], f"js-waku refused Parley's {e['id']}: {result.get('error')}"
        assert result["payload"] == e["payload"], e["id"]
        assert result["signer"] == (fresh["keys"]["signer_pub"] if e["signed"] else None)
