"""Web3 Secret Storage v3: spec vectors, round trips, wrong passphrases and hostile files."""

from __future__ import annotations

import copy
import json
from typing import Any, Literal

import pytest
from eth_keyfile.keyfile import create_keyfile_json, decode_keyfile_json

from crypto.keys import InvalidKeyError, public_key, to_address
from crypto.keystore import (
    DEFAULT_PBKDF2_ITERATIONS,
    DEFAULT_SCRYPT_N,
    KeystoreError,
    decrypt_key,
    encrypt_key,
)

PRIVATE_KEY = bytes.fromhex("7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d")
# The two test vectors of the Web3 Secret Storage Definition (password "testpassword").
SPEC_PBKDF2: dict[str, Any] = {
    "crypto": {
        "cipher": "aes-128-ctr",
        "cipherparams": {"iv": "6087dab2f9fdbbfaddc31a909735c1e6"},
        "ciphertext": "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
        "kdf": "pbkdf2",
        "kdfparams": {
            "c": 262144,
            "dklen": 32,
            "prf": "hmac-sha256",
            "salt": "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd",
        },
        "mac": "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2",
    },
    "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    "version": 3,
}
SPEC_SCRYPT: dict[str, Any] = {
    "crypto": {
        "cipher": "aes-128-ctr",
        "cipherparams": {"iv": "83dbcc02d8ccb40e466191a123791e0e"},
        "ciphertext": "d172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c",
        "kdf": "scrypt",
        "kdfparams": {
            "dklen": 32,
            "n": 262144,
            "p": 8,
            "r": 1,
            "salt": "ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19",
        },
        "mac": "2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097",
    },
    "id": "3198bc9c-6672-5ab3-d995-4942343ae5b6",
    "version": 3,
}
# Light work factors so the suite stays fast; the defaults are checked separately.
LIGHT = {"scrypt": 1 << 10, "pbkdf2": 1000}


def test_spec_pbkdf2_vector() -> None:
    assert decrypt_key(SPEC_PBKDF2, "testpassword") == PRIVATE_KEY


def test_spec_scrypt_vector() -> None:
    # n = 2^18 with r = 1, which OpenSSL's scrypt refuses; real keystores look like this.
    assert decrypt_key(json.dumps(SPEC_SCRYPT), "testpassword") == PRIVATE_KEY


@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_round_trip(kdf: str) -> None:
    keystore = encrypt_key(PRIVATE_KEY, "correct horse ☃", kdf=kdf, iterations=LIGHT[kdf])
    assert keystore["version"] == 3
    assert keystore["crypto"]["kdf"] == kdf
    assert keystore["address"] == to_address(public_key(PRIVATE_KEY))[2:].lower()
    assert PRIVATE_KEY.hex() not in json.dumps(keystore)
    assert decrypt_key(keystore, "correct horse ☃") == PRIVATE_KEY
    assert decrypt_key(json.dumps(keystore), "correct horse ☃") == PRIVATE_KEY
    # An independent implementation opens what we write.
    assert decode_keyfile_json(keystore, "correct horse ☃".encode()) == PRIVATE_KEY


@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_opens_eth_keyfile_output(kdf: Literal["scrypt", "pbkdf2"]) -> None:
    theirs = create_keyfile_json(PRIVATE_KEY, b"pw", kdf=kdf, iterations=LIGHT[kdf])
    assert decrypt_key(theirs, "pw") == PRIVATE_KEY


@pytest.mark.parametrize("kdf", ["scrypt", "pbkdf2"])
def test_wrong_passphrase(kdf: str) -> None:
    keystore = encrypt_key(PRIVATE_KEY, "right", kdf=kdf, iterations=LIGHT[kdf])
    for wrong in ("wrong", "", "right "):
        with pytest.raises(KeystoreError, match="MAC"):
            decrypt_key(keystore, wrong)


def test_fresh_salt_and_iv_each_time() -> None:
    one = encrypt_key(PRIVATE_KEY, "pw", iterations=LIGHT["scrypt"])
    two = encrypt_key(PRIVATE_KEY, "pw", iterations=LIGHT["scrypt"])
    assert one["crypto"]["kdfparams"]["salt"] != two["crypto"]["kdfparams"]["salt"]
    assert one["crypto"]["ciphertext"] != two["crypto"]["ciphertext"]
    assert one["id"] != two["id"]


def test_defaults_are_the_slow_secure_ones() -> None:
    assert DEFAULT_SCRYPT_N >= 1 << 18
    assert DEFAULT_PBKDF2_ITERATIONS >= 600_000


def test_encrypt_rejects_bad_arguments() -> None:
    with pytest.raises(InvalidKeyError):
        encrypt_key(bytes(32), "pw", iterations=LIGHT["scrypt"])
    with pytest.raises(ValueError):
        encrypt_key(PRIVATE_KEY, "pw", kdf="argon2")
    with pytest.raises(ValueError):
        encrypt_key(PRIVATE_KEY, "pw", kdf="scrypt", iterations=1000)  # not a power of two
    with pytest.raises(ValueError):
        encrypt_key(PRIVATE_KEY, "pw", kdf="pbkdf2", iterations=0)


def _light_keystore() -> dict[str, Any]:
    return encrypt_key(PRIVATE_KEY, "pw", kdf="pbkdf2", iterations=LIGHT["pbkdf2"])


def _set(path: tuple[str, ...], value: object) -> dict[str, Any]:
    keystore = copy.deepcopy(_light_keystore())
    target = keystore
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return keystore


@pytest.mark.parametrize(
    "keystore",
    [
        pytest.param("not json", id="not-json"),
        pytest.param("[]", id="json-array"),
        pytest.param("x" * 100_000, id="oversized-text"),
        pytest.param(_set(("version",), 1), id="version-1"),
        pytest.param(_set(("crypto",), "nope"), id="crypto-not-object"),
        pytest.param(_set(("crypto", "cipher"), "aes-128-cbc"), id="cipher-cbc"),
        pytest.param(_set(("crypto", "cipherparams"), None), id="no-cipherparams"),
        pytest.param(_set(("crypto", "cipherparams", "iv"), "zz"), id="iv-not-hex"),
        pytest.param(_set(("crypto", "cipherparams", "iv"), "00"), id="iv-short"),
        pytest.param(_set(("crypto", "ciphertext"), "00" * 31), id="ciphertext-short"),
        pytest.param(_set(("crypto", "ciphertext"), "00" * 32), id="ciphertext-changed"),
        pytest.param(_set(("crypto", "mac"), "00" * 32), id="mac-changed"),
        pytest.param(_set(("crypto", "mac"), 5), id="mac-not-string"),
        pytest.param(_set(("crypto", "kdf"), "argon2"), id="kdf-unknown"),
        pytest.param(_set(("crypto", "kdfparams", "prf"), "hmac-sha512"), id="prf-unknown"),
        pytest.param(_set(("crypto", "kdfparams", "c"), 10**12), id="c-huge"),
        pytest.param(_set(("crypto", "kdfparams", "c"), True), id="c-bool"),
        pytest.param(_set(("crypto", "kdfparams", "dklen"), 16), id="dklen-16"),
        pytest.param(_set(("crypto", "kdfparams", "salt"), None), id="salt-missing"),
    ],
)
def test_corrupt_or_hostile_keystores(keystore: dict[str, Any] | str) -> None:
    with pytest.raises(KeystoreError):
        decrypt_key(keystore, "pw")


@pytest.mark.parametrize(
    "params",
    [
        {"n": 1 << 30, "r": 8, "p": 1},  # 1 TiB of memory
        {"n": 1 << 20, "r": 8, "p": 1},  # 1 GiB: over the 512 MiB limit
        {"n": 1000, "r": 8, "p": 1},  # not a power of two
        {"n": 1 << 10, "r": 8, "p": 1000},
        {"n": 1 << 10, "r": 0, "p": 1},
    ],
)
def test_hostile_scrypt_parameters_are_refused_up_front(params: dict[str, int]) -> None:
    keystore = encrypt_key(PRIVATE_KEY, "pw", iterations=LIGHT["scrypt"])
    keystore["crypto"]["kdfparams"].update(params)
    with pytest.raises(KeystoreError):
        decrypt_key(keystore, "pw")


def test_capitalised_crypto_section_is_accepted() -> None:
    keystore = _light_keystore()
    keystore["Crypto"] = keystore.pop("crypto")
    assert decrypt_key(keystore, "pw") == PRIVATE_KEY
