"""secp256k1 keys, recoverable ECDSA signatures and Ethereum addresses, backed by libsecp256k1."""

from __future__ import annotations

import os
from functools import lru_cache

from coincurve import PrivateKey, PublicKey

# coincurve's own cffi binding of libsecp256k1: calling it directly on the per-message paths
# (recovery, ECDH) skips coincurve's wrapper objects, which cost as much as the EC maths's tail.
from coincurve._libsecp256k1 import ffi, lib  # type: ignore[import-not-found]
from coincurve.context import GLOBAL_CONTEXT

from crypto.keccak import keccak256

__all__ = [
    "PRIVATE_KEY_SIZE",
    "PUBLIC_KEY_COMPRESSED_SIZE",
    "PUBLIC_KEY_SIZE",
    "SIGNATURE_SIZE",
    "InvalidKeyError",
    "InvalidSignatureError",
    "checksum_address",
    "decompress_public_key",
    "generate_private_key",
    "is_valid_private_key",
    "normalize_signature",
    "private_key_object",
    "public_key",
    "public_key_object",
    "recover_public_key",
    "shared_x",
    "sign_recoverable",
    "to_address",
]

PRIVATE_KEY_SIZE = 32
PUBLIC_KEY_SIZE = 65
PUBLIC_KEY_COMPRESSED_SIZE = 33
SIGNATURE_SIZE = 65
_HASH_SIZE = 32
# Order of the secp256k1 group: valid private keys are the integers in [1, n-1].
_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
# Key objects are cached because building one from bytes costs a scalar multiplication
# (coincurve derives the public key eagerly); the bridge reuses a handful of keys forever.
_CACHE_SIZE = 256
_CTX = GLOBAL_CONTEXT.ctx
_UNCOMPRESSED = lib.SECP256K1_EC_UNCOMPRESSED
_COMPRESSED = lib.SECP256K1_EC_COMPRESSED


class InvalidKeyError(ValueError):
    """A private or public key is malformed, out of range or not on the curve."""


class InvalidSignatureError(ValueError):
    """A signature is malformed or no public key can be recovered from it."""


def is_valid_private_key(private_key: bytes) -> bool:
    """True when ``private_key`` is 32 bytes encoding an integer in [1, n-1]."""
    if not isinstance(private_key, bytes | bytearray) or len(private_key) != PRIVATE_KEY_SIZE:
        return False
    return 0 < int.from_bytes(private_key, "big") < _N


def generate_private_key() -> bytes:
    """A fresh private key from the OS CSPRNG."""
    while True:
        candidate = os.urandom(PRIVATE_KEY_SIZE)
        if is_valid_private_key(candidate):
            return candidate


@lru_cache(maxsize=_CACHE_SIZE)
def _private_key(private_key: bytes) -> PrivateKey:
    if not is_valid_private_key(private_key):
        raise InvalidKeyError("private key must be 32 bytes encoding an integer in [1, n-1]")
    return PrivateKey(private_key)


def private_key_object(private_key: bytes) -> PrivateKey:
    """The (cached) coincurve key for ``private_key``; raises InvalidKeyError."""
    if not isinstance(private_key, bytes | bytearray):
        raise InvalidKeyError("private key must be bytes")
    return _private_key(bytes(private_key))


@lru_cache(maxsize=_CACHE_SIZE)
def _public_key(pub: bytes) -> PublicKey:
    if len(pub) == PUBLIC_KEY_SIZE:
        if pub[0] != 0x04:
            raise InvalidKeyError("uncompressed public key must start with 0x04")
    elif len(pub) == PUBLIC_KEY_COMPRESSED_SIZE:
        if pub[0] not in (0x02, 0x03):
            raise InvalidKeyError("compressed public key must start with 0x02 or 0x03")
    else:
        raise InvalidKeyError(
            f"public key must be 65 (uncompressed) or 33 (compressed) bytes, got {len(pub)}"
        )
    try:
        return PublicKey(pub)
    except ValueError:
        raise InvalidKeyError("public key is not a point on secp256k1") from None


def public_key_object(pub: bytes) -> PublicKey:
    """The (cached) coincurve key for a 33- or 65-byte public key; raises InvalidKeyError."""
    if not isinstance(pub, bytes | bytearray):
        raise InvalidKeyError("public key must be bytes")
    return _public_key(bytes(pub))


def public_key(private_key: bytes, compressed: bool = False) -> bytes:
    """The public key of ``private_key``: 65 bytes 04‖X‖Y, or 33 bytes when ``compressed``."""
    return private_key_object(private_key).public_key.format(compressed=compressed)


def decompress_public_key(pub: bytes) -> bytes:
    """Validate a 33- or 65-byte public key and return it as 65-byte 04‖X‖Y."""
    return public_key_object(pub).format(compressed=False)


def sign_recoverable(msg_hash32: bytes, private_key: bytes) -> bytes:
    """Sign a 32-byte hash: 65 bytes r‖s‖v, v ∈ {0,1}, low-s, RFC 6979 deterministic nonce."""
    if len(msg_hash32) != _HASH_SIZE:
        raise ValueError(f"message hash must be 32 bytes, got {len(msg_hash32)}")
    signature: bytes = private_key_object(private_key).sign_recoverable(msg_hash32, hasher=None)
    return signature


def normalize_signature(signature65: bytes) -> bytes:
    """``signature65`` with v mapped to {0,1} (27/28 accepted); raises InvalidSignatureError."""
    if not isinstance(signature65, bytes | bytearray) or len(signature65) != SIGNATURE_SIZE:
        raise InvalidSignatureError("signature must be 65 bytes r‖s‖v")
    v = signature65[64]
    if v in (0, 1):
        return bytes(signature65)
    if v in (27, 28):
        return bytes(signature65[:64]) + bytes((v - 27,))
    raise InvalidSignatureError(f"signature recovery id must be 0, 1, 27 or 28, got {v}")


def _serialize(point: object, compressed: bool) -> bytes:
    size = PUBLIC_KEY_COMPRESSED_SIZE if compressed else PUBLIC_KEY_SIZE
    out = ffi.new("unsigned char[]", size)
    out_len = ffi.new("size_t *", size)
    lib.secp256k1_ec_pubkey_serialize(
        _CTX, out, out_len, point, _COMPRESSED if compressed else _UNCOMPRESSED
    )
    return bytes(ffi.buffer(out, size))


def recover_public_key(msg_hash32: bytes, signature65: bytes) -> bytes:
    """The 65-byte uncompressed public key that produced ``signature65`` over ``msg_hash32``."""
    if not isinstance(msg_hash32, bytes | bytearray) or len(msg_hash32) != _HASH_SIZE:
        raise InvalidSignatureError("message hash must be 32 bytes")
    signature = normalize_signature(signature65)
    parsed = ffi.new("secp256k1_ecdsa_recoverable_signature *")
    # parse_compact rejects r or s of 0 or >= n.
    if not lib.secp256k1_ecdsa_recoverable_signature_parse_compact(
        _CTX, parsed, signature[:64], signature[64]
    ):
        raise InvalidSignatureError("signature r or s is out of range")
    point = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_ecdsa_recover(_CTX, point, parsed, bytes(msg_hash32)):
        raise InvalidSignatureError("no public key can be recovered from this signature")
    return _serialize(point, compressed=False)


def shared_x(private_key: bytes, public_key: bytes) -> bytes:
    """Unhashed ECDH: the 32-byte big-endian x coordinate of ``private_key`` times ``public_key``.

    This is what geth-style ECIES feeds its KDF (libsecp256k1's ``ecdh`` would hash the point).
    Nothing is cached, so one-off ephemeral keys neither linger nor evict long-lived ones.
    Raises InvalidKeyError for an invalid private key or a public key not on the curve.
    """
    if not is_valid_private_key(private_key):
        raise InvalidKeyError("private key must be 32 bytes encoding an integer in [1, n-1]")
    if not isinstance(public_key, bytes | bytearray) or len(public_key) not in (
        PUBLIC_KEY_SIZE,
        PUBLIC_KEY_COMPRESSED_SIZE,
    ):
        raise InvalidKeyError("public key must be 65 (uncompressed) or 33 (compressed) bytes")
    uncompressed = len(public_key) == PUBLIC_KEY_SIZE
    if (public_key[0] == 0x04) != uncompressed or public_key[0] not in (0x02, 0x03, 0x04):
        raise InvalidKeyError("public key has an invalid prefix byte")
    point = ffi.new("secp256k1_pubkey *")
    if not lib.secp256k1_ec_pubkey_parse(_CTX, point, bytes(public_key), len(public_key)):
        raise InvalidKeyError("public key is not a point on secp256k1")
    # Constant time in the scalar; it only fails for a scalar out of range, excluded above.
    if not lib.secp256k1_ec_pubkey_tweak_mul(_CTX, point, bytes(private_key)):
        raise InvalidKeyError("ECDH failed: private key out of range")
    return _serialize(point, compressed=True)[1:]


def checksum_address(address20: bytes) -> str:
    """EIP-55 mixed-case hex of a 20-byte address, with the 0x prefix."""
    if len(address20) != 20:
        raise ValueError(f"address must be 20 bytes, got {len(address20)}")
    lower = address20.hex()
    nibbles = keccak256(lower.encode("ascii")).hex()
    return "0x" + "".join(
        c.upper() if c.isalpha() and int(nibbles[i], 16) >= 8 else c for i, c in enumerate(lower)
    )


def to_address(public_key: bytes) -> str:
    """The EIP-55 checksummed Ethereum address of a 33- or 65-byte public key."""
    uncompressed = decompress_public_key(public_key)
    return checksum_address(keccak256(uncompressed[1:])[12:])
