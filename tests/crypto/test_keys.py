"""Keys, signatures, addresses and Keccak, against published vectors and independent libraries."""

from __future__ import annotations

import random

import pytest
from Crypto.Hash import keccak as pycryptodome_keccak
from cryptography.hazmat.primitives.asymmetric import ec
from eth_keys.datatypes import PrivateKey as EthKeysPrivateKey

from crypto.keccak import keccak256
from crypto.keys import (
    InvalidKeyError,
    InvalidSignatureError,
    checksum_address,
    decompress_public_key,
    generate_private_key,
    is_valid_private_key,
    public_key,
    recover_public_key,
    shared_x,
    sign_recoverable,
    to_address,
)

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def test_keccak256_known_digests() -> None:
    # Keccak-256, not FIPS SHA3-256 (whose empty digest is a7ffc6f8...).
    assert keccak256(b"").hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    assert keccak256(b"abc").hex() == (
        "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"
    )


def test_keccak256_agrees_with_pycryptodome_public_api() -> None:
    # keccak256 calls pycryptodome's C code directly; its public API is the reference.
    rng = random.Random(7)
    for size in [*range(0, 300), 1000, 1024, 4096, 65536, 150 * 1024]:
        data = rng.randbytes(size)
        expected = pycryptodome_keccak.new(data=data, digest_bits=256).digest()
        assert keccak256(data) == expected
    assert keccak256(bytearray(b"abc")) == keccak256(memoryview(b"abc")) == keccak256(b"abc")


@pytest.mark.parametrize(
    "address",
    [
        # EIP-55's own examples: all caps, all lower, mixed.
        "0x52908400098527886E0F7030069857D2E4169EE7",
        "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
        "0xde709f2102306220921060314715629080e2fb77",
        "0x27b1fdb04752bbc536007a920d24acb045561c26",
        "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
        "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
        "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
        "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
    ],
)
def test_checksum_address_eip55_vectors(address: str) -> None:
    assert checksum_address(bytes.fromhex(address[2:])) == address


def test_to_address_known_key() -> None:
    private_key = bytes.fromhex("4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318")
    assert to_address(public_key(private_key)) == "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23"
    assert to_address(public_key(private_key, compressed=True)) == to_address(
        public_key(private_key)
    )


def test_matches_eth_keys_on_random_keys() -> None:
    rng = random.Random(1234)
    for _ in range(25):
        private_key = generate_private_key()
        msg_hash = rng.randbytes(32)
        theirs = EthKeysPrivateKey(private_key)
        assert public_key(private_key) == b"\x04" + theirs.public_key.to_bytes()
        assert to_address(public_key(private_key)) == theirs.public_key.to_checksum_address()
        signature = sign_recoverable(msg_hash, private_key)
        # Both use RFC 6979 nonces and low-s, so the bytes are identical.
        assert signature == theirs.sign_msg_hash(msg_hash).to_bytes()
        assert recover_public_key(msg_hash, signature) == public_key(private_key)


def test_signatures_are_low_s_and_v_is_0_or_1() -> None:
    private_key = generate_private_key()
    for i in range(200):
        signature = sign_recoverable(keccak256(i.to_bytes(4, "big")), private_key)
        assert len(signature) == 65
        assert int.from_bytes(signature[32:64], "big") <= N // 2
        assert signature[64] in (0, 1)


def test_recover_accepts_v_27_28_normalised() -> None:
    private_key = generate_private_key()
    msg_hash = keccak256(b"parley")
    signature = sign_recoverable(msg_hash, private_key)
    legacy = signature[:64] + bytes((signature[64] + 27,))
    assert recover_public_key(msg_hash, legacy) == public_key(private_key)


@pytest.mark.parametrize("v", [2, 3, 26, 29, 255])
def test_recover_rejects_other_recovery_ids(v: int) -> None:
    signature = sign_recoverable(keccak256(b"x"), generate_private_key())
    with pytest.raises(InvalidSignatureError):
        recover_public_key(keccak256(b"x"), signature[:64] + bytes((v,)))


def test_recover_rejects_malformed_signatures() -> None:
    msg_hash = keccak256(b"x")
    good = sign_recoverable(msg_hash, generate_private_key())
    for bad in (
        b"",
        good[:64],
        good + b"\x00",
        bytes(32) + good[32:],  # r = 0
        good[:32] + bytes(32) + good[64:],  # s = 0
        N.to_bytes(32, "big") + good[32:],  # r = n
        good[:32] + b"\xff" * 32 + good[64:],  # s > n
    ):
        with pytest.raises(InvalidSignatureError):
            recover_public_key(msg_hash, bad)
    with pytest.raises(InvalidSignatureError):
        recover_public_key(msg_hash[:31], good)


def test_recovering_with_another_hash_gives_another_key() -> None:
    private_key = generate_private_key()
    signature = sign_recoverable(keccak256(b"a"), private_key)
    try:
        other = recover_public_key(keccak256(b"b"), signature)
    except InvalidSignatureError:
        return  # also acceptable: no key at all
    assert other != public_key(private_key)


def test_private_key_validation() -> None:
    assert is_valid_private_key((1).to_bytes(32, "big"))
    assert is_valid_private_key((N - 1).to_bytes(32, "big"))
    assert not is_valid_private_key(bytes(32))
    assert not is_valid_private_key(N.to_bytes(32, "big"))
    assert not is_valid_private_key(b"\x01" * 31)
    assert not is_valid_private_key(b"\x01" * 33)
    for bad in (bytes(32), N.to_bytes(32, "big"), b"\x01" * 31):
        with pytest.raises(InvalidKeyError):
            public_key(bad)
        with pytest.raises(InvalidKeyError):
            sign_recoverable(bytes(32), bad)
    assert len({generate_private_key() for _ in range(50)}) == 50


def test_decompress_public_key() -> None:
    private_key = generate_private_key()
    full = public_key(private_key)
    short = public_key(private_key, compressed=True)
    assert len(full) == 65 and full[0] == 4
    assert len(short) == 33 and short[0] in (2, 3)
    assert decompress_public_key(short) == full
    assert decompress_public_key(full) == full


def test_decompress_rejects_invalid_public_keys() -> None:
    full = public_key(generate_private_key())
    not_on_curve = full[:64] + bytes(((full[64] + 1) & 0xFF,))
    bad_keys = [
        b"",
        full[:64],
        b"\x05" + full[1:],
        b"\x02" + full[1:],  # compressed prefix on 65 bytes
        b"\x04" + full[1:33],  # uncompressed prefix on 33 bytes
        not_on_curve,
        b"\x02" + bytes(32),  # x = 0 is not on secp256k1
    ]
    for bad in bad_keys:
        with pytest.raises(InvalidKeyError):
            decompress_public_key(bad)
        with pytest.raises(InvalidKeyError):
            to_address(bad)


def test_shared_x_matches_cryptography_ecdh() -> None:
    a, b = generate_private_key(), generate_private_key()
    ours = shared_x(a, public_key(b))
    assert ours == shared_x(b, public_key(a)) == shared_x(b, public_key(a, compressed=True))
    theirs = ec.derive_private_key(int.from_bytes(a, "big"), ec.SECP256K1()).exchange(
        ec.ECDH(),
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), public_key(b)),
    )
    assert ours == theirs


def test_shared_x_rejects_bad_inputs() -> None:
    pub = public_key(generate_private_key())
    with pytest.raises(InvalidKeyError):
        shared_x(bytes(32), pub)
    with pytest.raises(InvalidKeyError):
        shared_x(generate_private_key(), pub[:64] + bytes(((pub[64] + 1) & 0xFF,)))
    with pytest.raises(InvalidKeyError):
        shared_x(generate_private_key(), b"\x03" + pub[1:])
