"""Keccak-256 (the pre-standard SHA-3 variant Ethereum and Waku use), backed by pycryptodome."""

from __future__ import annotations

from collections.abc import Callable

from Crypto.Hash import keccak as _keccak

__all__ = ["keccak256"]

_KNOWN = {
    b"": bytes.fromhex("c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"),
    b"abc": bytes.fromhex("4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45"),
}


def _public_api(data: bytes) -> bytes:
    digest: bytes = _keccak.new(data=data, digest_bits=256).digest()
    return digest


def _direct() -> Callable[[bytes], bytes] | None:
    """pycryptodome's own C Keccak called without its per-object Python wrapper.

    Every message is hashed once to sign or verify it, and the wrapper's fixed cost (about half
    the total for a 1 KB message) showed up in the bench. Uses pycryptodome internals, so it is
    only taken when it loads and reproduces known digests; otherwise the public API is used.
    """
    try:
        from Crypto.Util import _raw_api

        ffi = getattr(_raw_api, "ffi", None)
        lib = getattr(_keccak, "_raw_keccak_lib", None)
        if ffi is None or lib is None:  # the ctypes backend: keep the public API
            return None
        new_state, new_digest, buffer = ffi.new, ffi.new, ffi.buffer
        init, absorb, finish, destroy = (
            lib.keccak_init,
            lib.keccak_absorb,
            lib.keccak_digest,
            lib.keccak_destroy,
        )

        def keccak256_direct(data: bytes) -> bytes:
            holder = new_state("void **")
            # capacity 64 bytes = Keccak-256; 24 rounds; padding byte 0x01 is Keccak's, not SHA3's.
            if init(holder, 64, 24):
                raise RuntimeError("keccak_init failed")
            state = holder[0]
            try:
                out = new_digest("uint8_t[32]")
                if absorb(state, data, len(data)) or finish(state, out, 32, 1):
                    raise RuntimeError("keccak failed")
            finally:
                destroy(state)
            digest: bytes = buffer(out)[:]
            return digest

        if all(keccak256_direct(k) == v for k, v in _KNOWN.items()):
            return keccak256_direct
    except Exception:  # noqa: S110 - any surprise in the internals means: use the public API
        pass
    return None


_impl: Callable[[bytes], bytes] = _direct() or _public_api


def keccak256(data: bytes | bytearray | memoryview) -> bytes:
    """Return the 32-byte Keccak-256 digest of ``data`` (not hashlib's FIPS SHA3-256)."""
    if type(data) is not bytes:  # cffi takes bytes as a pointer; other buffers are copied first
        data = bytes(data)
    return _impl(data)
