"""Benchmark: Waku version-1 sign+encrypt and decrypt+verify throughput, Parley vs js-waku.

Run from the repository root: ``.venv/bin/python -m bench.crypto [--seconds S] [--rounds R]``.
Both sides use 1 KB signed payloads, one signing key and one recipient key, and handle messages
back to back on one core; the js-waku side is bench/js/crypto_bench.mjs. The two sides run in
alternating rounds and each figure is the best round, so that load from other processes on a
shared machine skews neither side more than the other.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent
# Run as a script, this file's folder leads sys.path and this very module would shadow the
# `crypto` package; put the repository root there instead.
if sys.path and Path(sys.path[0]).resolve() == _REPO / "bench":
    sys.path[0] = str(_REPO)

from crypto.keys import generate_private_key, public_key  # noqa: E402
from crypto.payload import (  # noqa: E402
    decrypt_asymmetric,
    decrypt_symmetric,
    encrypt_asymmetric,
    encrypt_symmetric,
)

_JS_SCRIPT = _REPO / "bench" / "js" / "crypto_bench.mjs"
_CASES = (
    ("symmetric_encrypt", "symmetric", "sign+encrypt"),
    ("symmetric_decrypt", "symmetric", "decrypt+verify"),
    ("asymmetric_encrypt", "asymmetric", "sign+encrypt"),
    ("asymmetric_decrypt", "asymmetric", "decrypt+verify"),
)
_GOALS = {"sign+encrypt": 10.0, "decrypt+verify": 25.0}


Rate = dict[str, float]  # {"wall": messages per second, "cpu": messages per CPU second}


def _rate(fn: Callable[[], object], seconds: float) -> Rate:
    for _ in range(100):  # warm caches (key objects, AES key schedule) like a long-running bridge
        fn()
    cpu_start = time.process_time()
    start = time.perf_counter()
    deadline = start + seconds
    count = 0
    now = start
    while now < deadline:
        # Batches keep the clock reads out of the measured per-message cost.
        for _ in range(100):
            fn()
        count += 100
        now = time.perf_counter()
    return {"wall": count / (now - start), "cpu": count / (time.process_time() - cpu_start)}


class ParleyBench:
    """Fixed keys and ciphertexts, built once, like a bridge that has been running a while."""

    def __init__(self, payload_size: int) -> None:
        self.payload = os.urandom(payload_size)
        self.sym_key = os.urandom(32)
        self.signer = generate_private_key()
        self.signer_pub = public_key(self.signer)
        self.recipient = generate_private_key()
        self.recipient_pub = public_key(self.recipient)
        self.sym_wire = encrypt_symmetric(self.payload, self.sym_key, self.signer)
        self.asym_wire = encrypt_asymmetric(self.payload, self.recipient_pub, self.signer)

    def sym_encrypt(self) -> None:
        encrypt_symmetric(self.payload, self.sym_key, self.signer)

    def sym_decrypt(self) -> None:
        if decrypt_symmetric(self.sym_wire, self.sym_key).signer != self.signer_pub:
            raise AssertionError("symmetric round trip lost the signer")

    def asym_encrypt(self) -> None:
        encrypt_asymmetric(self.payload, self.recipient_pub, self.signer)

    def asym_decrypt(self) -> None:
        if decrypt_asymmetric(self.asym_wire, self.recipient).signer != self.signer_pub:
            raise AssertionError("asymmetric round trip lost the signer")

    def rates(self, seconds: float) -> dict[str, Rate]:
        return {
            "symmetric_encrypt": _rate(self.sym_encrypt, seconds),
            "symmetric_decrypt": _rate(self.sym_decrypt, seconds),
            "asymmetric_encrypt": _rate(self.asym_encrypt, seconds),
            "asymmetric_decrypt": _rate(self.asym_decrypt, seconds),
        }


def js_waku_rates(payload_size: int, seconds: float) -> dict[str, Rate]:
    options = json.dumps({"payload_size": payload_size, "seconds": seconds, "warmup": 0.3})
    proc = subprocess.run(
        ["node", str(_JS_SCRIPT), options],
        cwd=_REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"js-waku benchmark failed (run `make node` first?):\n{proc.stderr}")
    result: dict[str, Rate] = json.loads(proc.stdout)
    return result


def _best(rounds: list[dict[str, Rate]], clock: str) -> dict[str, float]:
    return {key: max(r[key][clock] for r in rounds) for key, _, _ in _CASES}


def _table(title: str, parley: dict[str, float], js: dict[str, float]) -> None:
    print(title)
    header = f"{'kind':<11} {'operation':<15} {'Parley msg/s':>13} {'js-waku msg/s':>14} "
    print(header + f"{'ratio':>7}  goal")
    for key, kind, operation in _CASES:
        ratio = parley[key] / js[key]
        goal = _GOALS[operation]
        verdict = "met" if ratio >= goal else "MISSED"
        print(
            f"{kind:<11} {operation:<15} {parley[key]:>13,.0f} {js[key]:>14,.0f} "
            f"{ratio:>6.1f}x  >={goal:g}x {verdict}"
        )
    print()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=0.6, help="time per figure per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side")
    parser.add_argument("--size", type=int, default=1024, help="payload bytes")
    args = parser.parse_args()

    print(
        f"payload {args.size} B, signed; best of {args.rounds} alternating rounds of "
        f"{args.seconds:g} s per figure\n"
    )
    bench = ParleyBench(args.size)
    parley_rounds: list[dict[str, Rate]] = []
    js_rounds: list[dict[str, Rate]] = []
    for round_no in range(args.rounds):
        # Alternate who goes first, so a burst of outside load does not always hit one side.
        if round_no % 2 == 0:
            parley_rounds.append(bench.rates(args.seconds))
            js_rounds.append(js_waku_rates(args.size, args.seconds))
        else:
            js_rounds.append(js_waku_rates(args.size, args.seconds))
            parley_rounds.append(bench.rates(args.seconds))

    # CPU time is the fair figure on a shared machine: other processes' load inflates wall
    # time for whichever side it happens to hit, but not the CPU each side itself spends.
    _table(
        "messages per CPU second (user+system, all threads)",
        _best(parley_rounds, "cpu"),
        _best(js_rounds, "cpu"),
    )
    _table(
        "messages per wall-clock second",
        _best(parley_rounds, "wall"),
        _best(js_rounds, "wall"),
    )


if __name__ == "__main__":
    main()
