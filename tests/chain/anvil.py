"""Start and stop a local anvil chain: reusable outside pytest (scripts, benches) too.

anvil comes from the pinned npm package ``@foundry-rs/anvil-linux-amd64`` (``make setup-test``
installs it). It listens on 127.0.0.1 at a free port with a fixed mnemonic and chain id 31337,
so the accounts and their keys are always the same.
"""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress

REPO = Path(__file__).resolve().parents[2]
ANVIL_BIN = REPO / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
# anvil's own default mnemonic, so the keys are the well-known ones.
MNEMONIC = "test test test test test test test test test test test junk"
CHAIN_ID = 31337
ACCOUNTS = 10
BALANCE_ETH = 10_000


def derive_keys(mnemonic: str = MNEMONIC, count: int = ACCOUNTS) -> tuple[bytes, ...]:
    """The first ``count`` private keys of ``mnemonic`` on m/44'/60'/0'/0/i, like anvil's."""
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return tuple(
        bytes(Account.from_mnemonic(mnemonic, account_path=f"m/44'/60'/0'/0/{i}").key)
        for i in range(count)
    )


def json_rpc(url: str, method: str, params: list[Any] | None = None, timeout: float = 5.0) -> Any:
    """One synchronous JSON-RPC call (for fixtures that have no event loop)."""
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []})
    request = urllib.request.Request(
        url, data=body.encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    if "error" in reply:
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


@dataclass(frozen=True)
class Anvil:
    """A running anvil: where to reach it and the funded accounts (10 000 ETH each)."""

    rpc_url: str
    chain_id: int
    private_keys: tuple[bytes, ...]
    addresses: tuple[ChecksumAddress, ...]
    process: subprocess.Popen[bytes] = field(repr=False)

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """A synchronous JSON-RPC call to this node."""
        return json_rpc(self.rpc_url, method, params)

    def stop(self) -> None:
        """Stop the process (by its PID) and wait for it."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _launch(binary: Path, port: int, startup_timeout: float) -> subprocess.Popen[bytes] | str:
    """Start anvil on ``port``; the process once it answers, or its error output if it died."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(
            [
                str(binary),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--chain-id",
                str(CHAIN_ID),
                "--mnemonic",
                MNEMONIC,
                "--accounts",
                str(ACCOUNTS),
                "--balance",
                str(BALANCE_ETH),
                "--silent",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + startup_timeout
        while True:
            if process.poll() is not None:
                errors.seek(0)
                return errors.read().decode(errors="replace") or f"exit status {process.returncode}"
            try:
                if int(json_rpc(url, "eth_chainId", timeout=1.0), 16) == CHAIN_ID:
                    return process
            except OSError:
                pass
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                return f"anvil did not answer eth_chainId within {startup_timeout} s"
            time.sleep(0.05)


def start_anvil(binary: Path = ANVIL_BIN, startup_timeout: float = 30.0) -> Anvil:
    """Start anvil and wait until it answers; raise ``RuntimeError`` if it cannot start."""
    if not binary.is_file():
        raise RuntimeError(f"anvil is missing: expected {binary} (run `make setup-test`)")
    failure = ""
    for _ in range(3):  # another process may take the free port before anvil binds it
        port = _free_port()
        launched = _launch(binary, port, startup_timeout)
        if isinstance(launched, str):
            failure = launched
            continue
        node = Anvil(
            rpc_url=f"http://127.0.0.1:{port}",
            chain_id=CHAIN_ID,
            private_keys=derive_keys(),
            addresses=(),
            process=launched,
        )
        try:
            served = [str(a) for a in node.rpc("eth_accounts")]
            addresses = _addresses(node.private_keys)
            if [a.lower() for a in served] != [a.lower() for a in addresses]:
                raise RuntimeError(f"anvil's accounts {served} are not the mnemonic's {addresses}")
        except BaseException:
            node.stop()
            raise
        return Anvil(node.rpc_url, node.chain_id, node.private_keys, addresses, launched)
    raise RuntimeError(f"anvil failed to start: {failure}")


def _addresses(keys: tuple[bytes, ...]) -> tuple[ChecksumAddress, ...]:
    from eth_account import Account

    return tuple(Account.from_key(key).address for key in keys)
