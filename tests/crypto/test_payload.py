"""Version-1 payloads: exact framing, round trips of all four kinds, and hostile input."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.keccak import keccak256
from crypto.keys import (
    InvalidKeyError,
    generate_private_key,
    public_key,
    recover_public_key,
    sign_recoverable,
)
from crypto.payload import (
    ECIES_OVERHEAD,
    MAX_PAYLOAD_SIZE,
    SYMMETRIC_OVERHEAD,
    Decoded,
    DecryptionError,
    PayloadTooLargeError,
    decode_payload_v1,
    decrypt_asymmetric,
    decrypt_symmetric,
    ecies_decrypt,
    ecies_encrypt,
    encode_payload_v1,
    encrypt_asymmetric,
    encrypt_symmetric,
    gcm_decrypt,
    gcm_encrypt,
)

SYM_KEY = bytes.fromhex("6a0bd6b1d1c3e5f2a4b6c8d0e2f4061828aa3c4e5f607182930a1b2c3d4e5f60")
RECIPIENT = bytes.fromhex("1f3c5a7e9b2d4f6081a3c5e7092b4d6f8091a2b3c4d5e6f708192a3b4c5d6e7f")
RECIPIENT_PUB = public_key(RECIPIENT)
SIGNER = bytes.fromhex("2b4d6f8091a3c5e7f90a1b2c3d4e5f60718293a4b5c6d7e8f9010213243546a7")
SIGNER_PUB = public_key(SIGNER)
EDGE_SIZES = (0, 1, 255, 256, 65535, 65536, 150 * 1024)
KINDS = ["symmetric", "asymmetric"]

# Deterministic and modest: the suite must be repeatable and take seconds.
PROPERTY = settings(
    derandomize=True,
    database=None,
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _encrypt(kind: str, payload: bytes, signing_key: bytes | None) -> bytes:
    if kind == "symmetric":
        return encrypt_symmetric(payload, SYM_KEY, signing_key)
    return encrypt_asymmetric(payload, RECIPIENT_PUB, signing_key)


def _decrypt(kind: str, data: bytes) -> Decoded:
    if kind == "symmetric":
        return decrypt_symmetric(data, SYM_KEY)
    return decrypt_asymmetric(data, RECIPIENT)


def _plaintext(kind: str, data: bytes) -> bytes:
    return gcm_decrypt(data, SYM_KEY) if kind == "symmetric" else ecies_decrypt(data, RECIPIENT)


def _check_round_trip(kind: str, payload: bytes, signed: bool) -> None:
    data = _encrypt(kind, payload, SIGNER if signed else None)
    overhead = SYMMETRIC_OVERHEAD if kind == "symmetric" else ECIES_OVERHEAD
    assert (len(data) - overhead) % 256 == 0
    decoded = _decrypt(kind, data)
    assert decoded.payload == payload
    if signed:
        assert decoded.signer == SIGNER_PUB
        assert decoded.signature is not None and decoded.signature[64] in (0, 1)
    else:
        assert decoded.signer is None and decoded.signature is None


# --- framing (docs/PROTOCOL.md §4) -------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "field"),
    [(0, 1), (255, 1), (256, 2), (65535, 2), (65536, 3), (150 * 1024, 3)],
)
@pytest.mark.parametrize("signed", [False, True])
def test_encode_layout(size: int, field: int, signed: bool) -> None:
    payload = random.Random(size).randbytes(size)
    plaintext = encode_payload_v1(payload, SIGNER if signed else None)
    assert plaintext[0] == field | (0x04 if signed else 0)
    assert int.from_bytes(plaintext[1 : 1 + field], "little") == size
    assert plaintext[1 + field : 1 + field + size] == payload
    # The whole plaintext, signature included, is a multiple of 256 with non-empty padding.
    assert len(plaintext) % 256 == 0
    raw = 1 + field + size + (65 if signed else 0)
    assert len(plaintext) - raw == 256 - raw % 256
    if signed:
        body, signature = plaintext[:-65], plaintext[-65:]
        assert signature == sign_recoverable(keccak256(body), SIGNER)
        assert recover_public_key(keccak256(body), signature) == SIGNER_PUB


def test_aligned_raw_size_gets_a_full_block_of_padding() -> None:
    assert len(encode_payload_v1(bytes(253), None)) == 256  # 1 + 1 + 253 = 255: 1 byte of pad
    # 1 + 1 + 254 = 256 is already aligned: a full 256-byte pad follows, never an empty one.
    assert len(encode_payload_v1(bytes(254), None)) == 512
    assert len(encode_payload_v1(bytes(189), SIGNER)) == 512  # 1 + 1 + 189 + 65 = 256


def test_padding_is_never_all_zero() -> None:
    # A one-byte pad (1 + 1 + 253 = 255) is where an all-zero draw would happen, 1 in 256.
    for _ in range(2000):
        plaintext = encode_payload_v1(bytes(253), None)
        assert plaintext[-1] != 0


def test_payload_of_2_24_bytes_is_refused() -> None:
    with pytest.raises(PayloadTooLargeError):
        encode_payload_v1(bytes(MAX_PAYLOAD_SIZE + 1), None)
    with pytest.raises(ValueError):
        encrypt_symmetric(bytes(1 << 24), SYM_KEY)


def test_decode_accepts_unpadded_plaintext() -> None:
    assert decode_payload_v1(b"\x01\x03abc") == Decoded(b"abc")
    assert decode_payload_v1(b"\x02\x03\x00abc") == Decoded(b"abc")
    assert decode_payload_v1(b"\x01\x00") == Decoded(b"")


def test_decode_signed_unpadded_and_legacy_v() -> None:
    body = b"\x05\x02hi"
    signature = sign_recoverable(keccak256(body), SIGNER)
    decoded = decode_payload_v1(body + signature)
    assert decoded == Decoded(b"hi", signature, SIGNER_PUB)
    legacy = signature[:64] + bytes((signature[64] + 27,))
    assert decode_payload_v1(body + legacy) == Decoded(b"hi", signature, SIGNER_PUB)


@pytest.mark.parametrize(
    "plaintext",
    [
        b"",
        b"\x00",  # size-field length 0 (js-waku rejects)
        b"\x00hello" + bytes(250),
        b"\x04" + bytes(70),  # signed, size-field length 0
        b"\x01",  # size field missing
        b"\x03\x01\x00",  # 3-byte size field cut short
        b"\x01\x05abc",  # declared 5 > 3 available
        b"\x02\xff\xffabc",
        b"\x05\x01" + bytes(64),  # signed but shorter than the signature
        b"\x05\x01a" + bytes(65),  # signature all zero: unrecoverable
        b"\x05\x01a" + b"\x11" * 64 + b"\x07",  # recovery id 7
    ],
)
def test_decode_rejects_malformed_plaintext(plaintext: bytes) -> None:
    with pytest.raises(DecryptionError):
        decode_payload_v1(plaintext)


# --- round trips -----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("size", EDGE_SIZES)
def test_round_trip_edge_sizes(kind: str, signed: bool, size: int) -> None:
    _check_round_trip(kind, random.Random(size).randbytes(size), signed)


@PROPERTY
@given(
    kind=st.sampled_from(KINDS),
    signed=st.booleans(),
    size=st.one_of(st.sampled_from(EDGE_SIZES), st.integers(0, 150 * 1024)),
    seed=st.integers(0, 2**32),
)
def test_round_trip_random_payloads(kind: str, signed: bool, size: int, seed: int) -> None:
    _check_round_trip(kind, random.Random(seed).randbytes(size), signed)


def test_compressed_recipient_key_works() -> None:
    data = encrypt_asymmetric(b"to a compressed key", public_key(RECIPIENT, compressed=True))
    assert decrypt_asymmetric(data, RECIPIENT).payload == b"to a compressed key"


def test_ciphertexts_are_randomised() -> None:
    for kind in KINDS:
        first, second = (_encrypt(kind, b"same", SIGNER) for _ in range(2))
        assert first != second
        # Padding is random too, so the signatures differ; payload and signer do not.
        one, two = _decrypt(kind, first), _decrypt(kind, second)
        assert one.payload == two.payload == b"same"
        assert one.signer == two.signer == SIGNER_PUB
        assert one.signature != two.signature


def test_wire_layout() -> None:
    sym = encrypt_symmetric(b"x", SYM_KEY)
    assert len(sym) == 256 + 28  # ciphertext(256) ‖ tag(16) ‖ iv(12)
    asym = encrypt_asymmetric(b"x", RECIPIENT_PUB)
    assert len(asym) == 256 + 113 and asym[0] == 0x04
    assert public_key(RECIPIENT) != asym[:65]  # R is a fresh ephemeral key


# --- hostile input --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("signed", [False, True])
def test_every_single_byte_mutation_is_rejected(kind: str, signed: bool) -> None:
    data = _encrypt(kind, b"hello waku", SIGNER if signed else None)
    assert _decrypt(kind, data).payload == b"hello waku"
    for position in range(len(data)):
        for mask in (0x01, 0x80, 0xFF):
            mutated = bytearray(data)
            mutated[position] ^= mask
            with pytest.raises(DecryptionError):
                _decrypt(kind, bytes(mutated))


@pytest.mark.parametrize("kind", KINDS)
def test_every_truncation_and_extension_is_rejected(kind: str) -> None:
    data = _encrypt(kind, b"hello waku", SIGNER)
    for length in range(len(data)):
        with pytest.raises(DecryptionError):
            _decrypt(kind, data[:length])
    for extra in (b"\x00", b"\x04" * 17):
        with pytest.raises(DecryptionError):
            _decrypt(kind, data + extra)
        with pytest.raises(DecryptionError):
            _decrypt(kind, extra + data)


def _rejected(decrypt: Callable[[bytes, bytes], Decoded], data: bytes, key: bytes) -> bool:
    try:
        decrypt(data, key)
    except DecryptionError:
        return True
    return False


def test_ten_thousand_random_strings_raise_only_decryption_error() -> None:
    rng = random.Random(20240601)
    valid_point = public_key(generate_private_key())
    rejected = {"symmetric": 0, "asymmetric": 0}
    for i in range(10_000):
        blob = rng.randbytes(rng.randint(0, 600))
        # Any other exception escapes and fails the test; a decode success would be a forgery.
        rejected["symmetric"] += _rejected(decrypt_symmetric, blob, SYM_KEY)
        rejected["asymmetric"] += _rejected(decrypt_asymmetric, blob, RECIPIENT)
        # Random bytes rarely start with 0x04; every tenth string gets a real curve point as R
        # so that the MAC check, not the prefix check, is what refuses it.
        if i % 10 == 0:
            assert _rejected(decrypt_asymmetric, valid_point + blob, RECIPIENT)
    assert rejected == {"symmetric": 10_000, "asymmetric": 10_000}


@PROPERTY
@given(plaintext=st.binary(max_size=700), kind=st.sampled_from(KINDS))
def test_authenticated_garbage_plaintext_raises_only_decryption_error(
    plaintext: bytes, kind: str
) -> None:
    # A sender holding the key can encrypt any bytes at all; decoding must still be total.
    if kind == "symmetric":
        data = gcm_encrypt(plaintext, SYM_KEY)
    else:
        data = ecies_encrypt(plaintext, RECIPIENT_PUB)
    try:
        decoded = _decrypt(kind, data)
    except DecryptionError:
        return
    assert decoded.payload in plaintext


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_key_is_rejected(kind: str) -> None:
    data = _encrypt(kind, b"secret", SIGNER)
    with pytest.raises(DecryptionError):
        if kind == "symmetric":
            decrypt_symmetric(data, bytes(32))
        else:
            decrypt_asymmetric(data, SIGNER)


def test_invalid_decryption_keys_and_types_raise_decryption_error() -> None:
    sym = encrypt_symmetric(b"x", SYM_KEY)
    asym = encrypt_asymmetric(b"x", RECIPIENT_PUB)
    for bad_key in (b"", bytes(16), bytes(33)):
        with pytest.raises(DecryptionError):
            decrypt_symmetric(sym, bad_key)
    for bad_key in (b"", bytes(32), b"\xff" * 32, bytes(31)):
        with pytest.raises(DecryptionError):
            decrypt_asymmetric(asym, bad_key)
    with pytest.raises(DecryptionError):
        decrypt_symmetric(sym.hex(), SYM_KEY)  # type: ignore[arg-type]
    with pytest.raises(DecryptionError):
        decrypt_asymmetric(None, RECIPIENT)  # type: ignore[arg-type]
    # Buffers other than bytes are tolerated at run time, though the signature says bytes.
    assert decrypt_symmetric(bytearray(sym), SYM_KEY).payload == b"x"  # type: ignore[arg-type]


def test_oversized_input_is_refused_without_work() -> None:
    huge = b"\x04" + bytes(MAX_PAYLOAD_SIZE + 1024)
    with pytest.raises(DecryptionError):
        decrypt_symmetric(huge, SYM_KEY)
    with pytest.raises(DecryptionError):
        decrypt_asymmetric(huge, RECIPIENT)


def test_compressed_ephemeral_key_is_rejected() -> None:
    data = encrypt_asymmetric(b"x", RECIPIENT_PUB)
    r = data[:65]
    compressed = bytes((2 + (r[64] & 1),)) + r[1:33]
    with pytest.raises(DecryptionError):
        decrypt_asymmetric(compressed + data[65:], RECIPIENT)


def test_invalid_encryption_keys_raise_value_errors() -> None:
    with pytest.raises(InvalidKeyError):
        encrypt_symmetric(b"x", bytes(16))
    with pytest.raises(InvalidKeyError):
        encrypt_symmetric(b"x", SYM_KEY, signing_key=bytes(32))
    with pytest.raises(InvalidKeyError):
        encrypt_asymmetric(b"x", RECIPIENT_PUB[:64])
    with pytest.raises(InvalidKeyError):
        encrypt_asymmetric(b"x", b"\x04" + bytes(64))
    with pytest.raises(InvalidKeyError):
        encrypt_asymmetric(b"x", RECIPIENT_PUB, signing_key=b"\xff" * 32)
