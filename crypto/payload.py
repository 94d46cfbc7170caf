"""Waku version-1 payloads (26/WAKU2-PAYLOAD): framing, padding, signature, AES-GCM and ECIES.

Byte layouts follow docs/PROTOCOL.md §4–5, i.e. what js-waku and go-waku put on the wire. Every
failure to open a received payload surfaces as ``DecryptionError`` and nothing else, because the
input comes from the network and the caller should need exactly one ``except``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import lru_cache

from coincurve import PublicKey
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from crypto.keccak import keccak256
from crypto.keys import (
    InvalidKeyError,
    is_valid_private_key,
    public_key_object,
    recover_public_key,
    shared_x,
    sign_recoverable,
)

__all__ = [
    "ECIES_OVERHEAD",
    "MAX_PAYLOAD_SIZE",
    "SYMMETRIC_KEY_SIZE",
    "SYMMETRIC_OVERHEAD",
    "Decoded",
    "DecryptionError",
    "PayloadTooLargeError",
    "decode_payload_v1",
    "decrypt_asymmetric",
    "decrypt_symmetric",
    "ecies_decrypt",
    "ecies_encrypt",
    "encode_payload_v1",
    "encrypt_asymmetric",
    "encrypt_symmetric",
    "gcm_decrypt",
    "gcm_encrypt",
]

SYMMETRIC_KEY_SIZE = 32
_IV_SIZE = 12
_TAG_SIZE = 16
SYMMETRIC_OVERHEAD = _TAG_SIZE + _IV_SIZE

_R_SIZE = 65
_CTR_IV_SIZE = 16
_MAC_SIZE = 32
ECIES_OVERHEAD = _R_SIZE + _CTR_IV_SIZE + _MAC_SIZE  # 113
_KDF_COUNTER = b"\x00\x00\x00\x01"

_FLAG_SIZE_MASK = 0x03
_FLAG_SIGNED = 0x04
_PADDING_TARGET = 256
_SIGNATURE_SIZE = 65
# The size field is at most 3 bytes wide (flags bits 0-1), so 2^24 - 1 is the largest payload.
MAX_PAYLOAD_SIZE = (1 << 24) - 1
# Largest plaintext a conforming sender makes: flags, 3-byte size, payload, padding, signature.
_MAX_PLAINTEXT = 1 + 3 + MAX_PAYLOAD_SIZE + _PADDING_TARGET + _SIGNATURE_SIZE
_MAX_SYMMETRIC_DATA = _MAX_PLAINTEXT + SYMMETRIC_OVERHEAD
_MAX_ECIES_DATA = _MAX_PLAINTEXT + ECIES_OVERHEAD

# Order of the secp256k1 group; ephemeral scalars are drawn from [1, n-1].
_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_SHA256 = hashes.SHA256()
_sha256 = hashlib.sha256
_urandom = os.urandom


class DecryptionError(ValueError):
    """A received payload is malformed, truncated, tampered with, or not for this key."""


class PayloadTooLargeError(ValueError):
    """A payload does not fit the 3-byte size field of version-1 framing (>= 2^24 bytes)."""


@dataclass(frozen=True, slots=True)
class Decoded:
    """An opened version-1 payload.

    ``signature`` is 65 bytes r‖s‖v with v normalised to {0,1}; ``signer`` is the recovered
    65-byte uncompressed public key. Both are None for unsigned payloads.
    """

    payload: bytes
    signature: bytes | None = None
    signer: bytes | None = None


# --- version-1 framing ------------------------------------------------------------------------


def _random_padding(length: int) -> bytes:
    # The spec asks for padding that is not all zeros; a 1-byte pad is zero once in 256 draws.
    while True:
        padding = _urandom(length)
        if padding.count(0) != length:
            return padding


def encode_payload_v1(payload: bytes, signing_key: bytes | None = None) -> bytes:
    """Frame ``payload`` as flags‖size‖payload‖padding‖[signature], padded to 256 bytes.

    Raises PayloadTooLargeError for payloads of 2^24 bytes or more and InvalidKeyError for a bad
    ``signing_key``.
    """
    size = len(payload)
    if size < 0x100:
        field = 1
    elif size < 0x10000:
        field = 2
    elif size <= MAX_PAYLOAD_SIZE:
        field = 3
    else:
        raise PayloadTooLargeError(
            f"payload is {size} bytes; version-1 framing holds at most {MAX_PAYLOAD_SIZE}"
        )
    raw = 1 + field + size
    if signing_key is None:
        padding = _random_padding(_PADDING_TARGET - raw % _PADDING_TARGET)
        return b"".join((bytes((field,)), size.to_bytes(field, "little"), payload, padding))
    raw += _SIGNATURE_SIZE
    padding = _random_padding(_PADDING_TARGET - raw % _PADDING_TARGET)
    # The signed flag is part of what gets signed, so it is set before hashing.
    body = b"".join(
        (bytes((field | _FLAG_SIGNED,)), size.to_bytes(field, "little"), payload, padding)
    )
    return body + sign_recoverable(keccak256(body), signing_key)


def decode_payload_v1(plaintext: bytes) -> Decoded:
    """Parse a decrypted version-1 plaintext; padding is not required (js-waku accepts none).

    Raises DecryptionError when the framing is inconsistent or the signature unrecoverable.
    """
    if not plaintext:
        raise DecryptionError("empty plaintext")
    flags = plaintext[0]
    field = flags & _FLAG_SIZE_MASK
    if field == 0:
        raise DecryptionError("size field length is 0 in the flags byte")
    signed = bool(flags & _FLAG_SIGNED)
    end = len(plaintext) - _SIGNATURE_SIZE if signed else len(plaintext)
    start = 1 + field
    if end < start:
        raise DecryptionError("plaintext is shorter than its flags, size field and signature")
    size = int.from_bytes(plaintext[1:start], "little")
    if start + size > end:
        raise DecryptionError(f"declared payload size {size} exceeds the data")
    payload = bytes(plaintext[start : start + size])
    if not signed:
        return Decoded(payload)
    signature = plaintext[end:]
    try:
        signer = recover_public_key(keccak256(plaintext[:end]), signature)
    except ValueError as exc:
        raise DecryptionError(f"bad signature: {exc}") from None
    if signature[64] >= 27:  # recovery succeeded, so v is 27 or 28: report it as 0 or 1
        signature = signature[:64] + bytes((signature[64] - 27,))
    return Decoded(payload, bytes(signature), signer)


# --- symmetric: AES-256-GCM, wire = ciphertext‖tag‖iv -----------------------------------------


@lru_cache(maxsize=4096)
def _aesgcm(key: bytes) -> AESGCM:
    # Cached because key schedule setup dominates for small messages and keys are long-lived;
    # one key per bridged chat, so room for thousands (256 made a bridge of 1,000 rooms set
    # up a key schedule for nearly every message).
    if len(key) != SYMMETRIC_KEY_SIZE:
        raise InvalidKeyError(f"symmetric key must be {SYMMETRIC_KEY_SIZE} bytes, got {len(key)}")
    return AESGCM(key)


def _check_bytes(value: object, what: str) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"{what} must be bytes, got {type(value).__name__}")


def gcm_encrypt(plaintext: bytes, key: bytes) -> bytes:
    """AES-256-GCM with a random 12-byte IV and no AAD; returns ciphertext‖tag‖iv."""
    aesgcm = _aesgcm(_check_bytes(key, "symmetric key"))
    iv = _urandom(_IV_SIZE)
    return aesgcm.encrypt(iv, plaintext, None) + iv


def gcm_decrypt(data: bytes, key: bytes) -> bytes:
    """Open ciphertext‖tag‖iv; raises DecryptionError on any failure."""
    try:
        key = _check_bytes(key, "symmetric key")
        data = _check_bytes(data, "data")
        aesgcm = _aesgcm(key)
    except (TypeError, ValueError) as exc:
        raise DecryptionError(str(exc)) from None
    if len(data) < SYMMETRIC_OVERHEAD:
        raise DecryptionError(f"symmetric payload shorter than {SYMMETRIC_OVERHEAD} bytes")
    if len(data) > _MAX_SYMMETRIC_DATA:
        raise DecryptionError("symmetric payload larger than any version-1 payload")
    try:
        return aesgcm.decrypt(data[-_IV_SIZE:], data[:-_IV_SIZE], None)
    except Exception:  # InvalidTag, or anything else the backend raises on hostile input
        raise DecryptionError("authentication failed: wrong key or tampered data") from None


def encrypt_symmetric(payload: bytes, key: bytes, signing_key: bytes | None = None) -> bytes:
    """Frame (and sign, if ``signing_key``) ``payload``, then encrypt it with AES-256-GCM."""
    aesgcm = _aesgcm(_check_bytes(key, "symmetric key"))  # validate the key before signing
    plaintext = encode_payload_v1(_check_bytes(payload, "payload"), signing_key)
    iv = _urandom(_IV_SIZE)
    return aesgcm.encrypt(iv, plaintext, None) + iv


def decrypt_symmetric(data: bytes, key: bytes) -> Decoded:
    """Decrypt and decode a symmetric version-1 payload; raises only DecryptionError."""
    try:
        return decode_payload_v1(gcm_decrypt(data, key))
    except DecryptionError:
        raise
    except Exception as exc:  # defence in depth: the contract is "only DecryptionError"
        raise DecryptionError(f"undecodable payload: {exc}") from None


# --- asymmetric: ECIES (geth parameters), wire = R‖iv‖c‖mac ----------------------------------


def _ecies_keys(shared_x: bytes) -> tuple[bytes, bytes]:
    # NIST SP 800-56 concat KDF, one SHA-256 block, no shared info; geth hashes the MAC half again.
    k = _sha256(_KDF_COUNTER + shared_x).digest()
    return k[:16], _sha256(k[16:]).digest()


def _mac(key: bytes, data: bytes) -> crypto_hmac.HMAC:
    h = crypto_hmac.HMAC(key, _SHA256)
    h.update(data)
    return h


def _aes_ctr(key: bytes, iv: bytes, data: bytes) -> bytes:
    # OpenSSL's CTR increments the whole 16-byte block as one big-endian counter, as geth does.
    ctx = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    return ctx.update(data) + ctx.finalize()


def _generate_scalar() -> bytes:
    while True:
        candidate = _urandom(32)
        if 0 < int.from_bytes(candidate, "big") < _N:
            return candidate


def ecies_encrypt(plaintext: bytes, public_key: bytes) -> bytes:
    """ECIES-encrypt to a 65- or 33-byte secp256k1 public key; raises InvalidKeyError."""
    ephemeral = _generate_scalar()
    enc_key, mac_key = _ecies_keys(shared_x(ephemeral, public_key))
    r_point = PublicKey.from_valid_secret(ephemeral).format(compressed=False)
    iv = _urandom(_CTR_IV_SIZE)
    iv_ciphertext = iv + _aes_ctr(enc_key, iv, plaintext)
    return b"".join((r_point, iv_ciphertext, _mac(mac_key, iv_ciphertext).finalize()))


def ecies_decrypt(data: bytes, private_key: bytes) -> bytes:
    """Open R‖iv‖c‖mac with ``private_key``; raises only DecryptionError."""
    try:
        data = _check_bytes(data, "data")
    except TypeError as exc:
        raise DecryptionError(str(exc)) from None
    if not is_valid_private_key(private_key):
        raise DecryptionError("private key must be 32 bytes encoding an integer in [1, n-1]")
    if len(data) <= ECIES_OVERHEAD:
        raise DecryptionError(f"ECIES payload must be longer than {ECIES_OVERHEAD} bytes")
    if len(data) > _MAX_ECIES_DATA:
        raise DecryptionError("ECIES payload larger than any version-1 payload")
    if data[0] != 0x04:
        raise DecryptionError("ECIES ephemeral key must be uncompressed (0x04)")
    try:
        enc_key, mac_key = _ecies_keys(shared_x(private_key, data[:_R_SIZE]))
    except InvalidKeyError:
        raise DecryptionError("ECIES ephemeral key is not a point on secp256k1") from None
    iv_ciphertext = data[_R_SIZE:-_MAC_SIZE]
    try:
        _mac(mac_key, iv_ciphertext).verify(data[-_MAC_SIZE:])  # constant-time comparison
    except InvalidSignature:
        raise DecryptionError("authentication failed: wrong key or tampered data") from None
    return _aes_ctr(enc_key, iv_ciphertext[:_CTR_IV_SIZE], iv_ciphertext[_CTR_IV_SIZE:])


def encrypt_asymmetric(
    payload: bytes, public_key: bytes, signing_key: bytes | None = None
) -> bytes:
    """Frame (and sign, if ``signing_key``) ``payload``, then ECIES-encrypt it to ``public_key``."""
    public_key_object(public_key)  # validate the recipient before doing any signing work
    return ecies_encrypt(
        encode_payload_v1(_check_bytes(payload, "payload"), signing_key), public_key
    )


def decrypt_asymmetric(data: bytes, private_key: bytes) -> Decoded:
    """Decrypt and decode an ECIES version-1 payload; raises only DecryptionError."""
    try:
        return decode_payload_v1(ecies_decrypt(data, private_key))
    except DecryptionError:
        raise
    except Exception as exc:  # defence in depth: the contract is "only DecryptionError"
        raise DecryptionError(f"undecodable payload: {exc}") from None
