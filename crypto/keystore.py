"""Web3 Secret Storage v3: a private key sealed under a passphrase (scrypt or PBKDF2, AES-128-CTR).

Pure: takes and returns the JSON document as a dict (or str); reading and writing files is the
caller's job. Keystores are treated as hostile input: KDF work factors are bounded so that a
crafted file cannot make decryption take unbounded memory or time.
"""

from __future__ import annotations

import hmac
import json
import os
import uuid
from typing import Any

from Crypto.Protocol.KDF import scrypt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from crypto.keccak import keccak256
from crypto.keys import InvalidKeyError, is_valid_private_key, public_key, to_address

__all__ = [
    "DEFAULT_PBKDF2_ITERATIONS",
    "DEFAULT_SCRYPT_N",
    "KeystoreError",
    "decrypt_key",
    "encrypt_key",
]

# geth's "standard" scrypt parameters (256 MiB, about a second); PBKDF2 per OWASP 2023 guidance.
DEFAULT_SCRYPT_N = 1 << 18
_SCRYPT_R = 8
_SCRYPT_P = 1
DEFAULT_PBKDF2_ITERATIONS = 600_000
_DKLEN = 32
_SALT_SIZE = 32
_IV_SIZE = 16

# Limits for keystores we are asked to open: generous for every real wallet's output.
_MAX_SCRYPT_MEMORY = 512 << 20  # 128 * n * r bytes; geth's standard setting needs 256 MiB
_MAX_SCRYPT_P = 16
_MAX_PBKDF2_ITERATIONS = 10_000_000
_MAX_SALT_SIZE = 1024
_MAX_DOCUMENT_SIZE = 64 * 1024


class KeystoreError(ValueError):
    """A keystore cannot be opened: wrong passphrase, unsupported parameters or a corrupt file."""


def _derive(kdf: str, params: dict[str, Any], passphrase: bytes) -> bytes:
    salt = bytes.fromhex(params["salt"])
    if kdf == "scrypt":
        # pycryptodome, not OpenSSL: OpenSSL refuses n >= 2^(16r), which rejects real keystores
        # (the spec's own example has n = 2^18 with r = 1). Its stubs say str; it takes bytes.
        derived = scrypt(
            passphrase,  # type: ignore[arg-type]
            salt,  # type: ignore[arg-type]
            _DKLEN,
            N=params["n"],
            r=params["r"],
            p=params["p"],
        )
        assert isinstance(derived, bytes)  # num_keys=1 returns one key, not a tuple
        return derived
    deriver = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=_DKLEN, salt=salt, iterations=params["c"]
    )
    return deriver.derive(passphrase)


def _aes_128_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    ctx = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return ctx.update(data) + ctx.finalize()


def encrypt_key(
    private_key: bytes,
    passphrase: str,
    *,
    kdf: str = "scrypt",
    iterations: int | None = None,
) -> dict[str, Any]:
    """Seal ``private_key`` as a Web3 Secret Storage v3 document.

    ``iterations`` is scrypt's ``n`` (a power of two) or PBKDF2's ``c``; the defaults are slow on
    purpose. Raises InvalidKeyError for a bad key and ValueError for bad KDF settings.
    """
    if not is_valid_private_key(private_key):
        raise InvalidKeyError("private key must be 32 bytes encoding an integer in [1, n-1]")
    salt = os.urandom(_SALT_SIZE)
    params: dict[str, Any]
    if kdf == "scrypt":
        n = DEFAULT_SCRYPT_N if iterations is None else iterations
        if n < 2 or n & (n - 1):
            raise ValueError("scrypt n must be a power of two >= 2")
        params = {"dklen": _DKLEN, "n": n, "r": _SCRYPT_R, "p": _SCRYPT_P, "salt": salt.hex()}
    elif kdf == "pbkdf2":
        c = DEFAULT_PBKDF2_ITERATIONS if iterations is None else iterations
        if c < 1:
            raise ValueError("PBKDF2 iterations must be positive")
        params = {"c": c, "dklen": _DKLEN, "prf": "hmac-sha256", "salt": salt.hex()}
    else:
        raise ValueError(f"unsupported kdf {kdf!r}: use 'scrypt' or 'pbkdf2'")
    derived = _derive(kdf, params, passphrase.encode("utf-8"))
    iv = os.urandom(_IV_SIZE)
    ciphertext = _aes_128_ctr(derived[:16], iv, bytes(private_key))
    return {
        "address": to_address(public_key(private_key))[2:].lower(),
        "crypto": {
            "cipher": "aes-128-ctr",
            "cipherparams": {"iv": iv.hex()},
            "ciphertext": ciphertext.hex(),
            "kdf": kdf,
            "kdfparams": params,
            "mac": keccak256(derived[16:32] + ciphertext).hex(),
        },
        "id": str(uuid.uuid4()),
        "version": 3,
    }


def _int(params: dict[str, Any], name: str, low: int, high: int) -> int:
    value = params.get(name)
    # bool is an int subclass; a JSON `true` is not a work factor.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise KeystoreError(f"kdfparams.{name} must be an integer in [{low}, {high}]")
    return value


def _hex(value: object, what: str, *, size: int | None = None, max_size: int = 1024) -> bytes:
    if not isinstance(value, str) or len(value) > 2 * max_size:
        raise KeystoreError(f"{what} must be a hex string")
    try:
        raw = bytes.fromhex(value.removeprefix("0x"))
    except ValueError:
        raise KeystoreError(f"{what} is not valid hex") from None
    if size is not None and len(raw) != size:
        raise KeystoreError(f"{what} must be {size} bytes")
    return raw


def _kdf_params(kdf: object, raw: object) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise KeystoreError("crypto.kdfparams must be an object")
    _int(raw, "dklen", _DKLEN, _DKLEN)
    salt = _hex(raw.get("salt"), "kdfparams.salt", max_size=_MAX_SALT_SIZE)
    if kdf == "scrypt":
        n = _int(raw, "n", 2, _MAX_SCRYPT_MEMORY)
        r = _int(raw, "r", 1, _MAX_SCRYPT_MEMORY)
        p = _int(raw, "p", 1, _MAX_SCRYPT_P)
        if n & (n - 1) or 128 * n * r > _MAX_SCRYPT_MEMORY:
            raise KeystoreError("scrypt parameters out of range (n a power of two, <= 512 MiB)")
        return {"n": n, "r": r, "p": p, "salt": salt.hex()}
    if kdf == "pbkdf2":
        if raw.get("prf") != "hmac-sha256":
            raise KeystoreError("only the hmac-sha256 PBKDF2 prf is supported")
        return {"c": _int(raw, "c", 1, _MAX_PBKDF2_ITERATIONS), "salt": salt.hex()}
    raise KeystoreError(f"unsupported kdf {kdf!r}")


def decrypt_key(keystore: dict[str, Any] | str, passphrase: str) -> bytes:
    """Open a v3 keystore (dict or JSON text) and return the 32-byte private key.

    Raises KeystoreError for a wrong passphrase (MAC mismatch), unsupported or out-of-range
    parameters, or any malformed field.
    """
    if isinstance(keystore, str):
        if len(keystore) > _MAX_DOCUMENT_SIZE:
            raise KeystoreError("keystore document is too large")
        try:
            keystore = json.loads(keystore)
        except ValueError:
            raise KeystoreError("keystore is not valid JSON") from None
    if not isinstance(keystore, dict):
        raise KeystoreError("keystore must be a JSON object")
    if keystore.get("version") != 3:
        raise KeystoreError("only version 3 keystores are supported")
    # Some producers (early geth, MyEtherWallet) spell the section "Crypto".
    section = keystore.get("crypto", keystore.get("Crypto"))
    if not isinstance(section, dict):
        raise KeystoreError("keystore has no crypto section")
    if section.get("cipher") != "aes-128-ctr":
        raise KeystoreError("only the aes-128-ctr cipher is supported")
    cipherparams = section.get("cipherparams")
    if not isinstance(cipherparams, dict):
        raise KeystoreError("crypto.cipherparams must be an object")
    iv = _hex(cipherparams.get("iv"), "cipherparams.iv", size=_IV_SIZE)
    ciphertext = _hex(section.get("ciphertext"), "crypto.ciphertext", size=32)
    mac = _hex(section.get("mac"), "crypto.mac", size=32)
    kdf = section.get("kdf")
    params = _kdf_params(kdf, section.get("kdfparams"))
    if not isinstance(passphrase, str):
        raise KeystoreError("passphrase must be a string")
    try:
        derived = _derive(str(kdf), params, passphrase.encode("utf-8"))
    except (ValueError, MemoryError) as exc:
        raise KeystoreError(f"key derivation failed: {exc}") from None
    if not hmac.compare_digest(keccak256(derived[16:32] + ciphertext), mac):
        raise KeystoreError("wrong passphrase (or a damaged keystore file: its MAC does not match)")
    private_key = _aes_128_ctr(derived[:16], iv, ciphertext)
    if not is_valid_private_key(private_key):
        raise KeystoreError("keystore decrypts to an invalid private key")
    return private_key
