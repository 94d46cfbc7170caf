"""A small Ethereum JSON-RPC client (aiohttp) for the tip watcher and the token lookups.

The node is treated as hostile: every answer is checked for shape before use, and anything
unexpected raises ``RpcError``. web3 is not needed here (it costs 1.7 s to import); ENS
resolution, which needs it, lives in ``bridge.tips.ens``.
"""

from __future__ import annotations

import itertools
import json
import re
from typing import Any

import aiohttp

__all__ = ["RpcClient", "RpcError"]

_QUANTITY = re.compile(r"^0x[0-9a-fA-F]{1,64}$")
_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_DATA = re.compile(r"^0x(?:[0-9a-fA-F]{2})*$")
MAX_RESPONSE = 64 * 1024 * 1024


class RpcError(RuntimeError):
    """The node failed, refused, or answered something malformed."""


class RpcClient:
    """JSON-RPC over HTTP; one ``aiohttp`` session, opened lazily, closed by ``close()``."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None
        self._ids = itertools.count(1)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def call(self, method: str, params: list[Any]) -> Any:
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, trust_env=False)
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        try:
            async with self._session.post(self.url, json=body) as response:
                if response.status != 200:
                    raise RpcError(f"{method}: HTTP {response.status}")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.content.iter_chunked(1 << 16):
                    size += len(chunk)
                    if size > MAX_RESPONSE:
                        raise RpcError(f"{method}: the answer is too large")
                    chunks.append(chunk)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RpcError(f"{method}: {type(exc).__name__}: {exc}") from exc
        raw = b"".join(chunks)

        try:
            reply = json.loads(raw)
        except ValueError as exc:
            raise RpcError(f"{method}: the answer is not JSON") from exc
        if not isinstance(reply, dict):
            raise RpcError(f"{method}: the answer is not a JSON-RPC object")
        if reply.get("error") is not None:
            error = reply["error"]
            message = error.get("message") if isinstance(error, dict) else error
            raise RpcError(f"{method}: {str(message)[:300]}")
        if "result" not in reply:
            raise RpcError(f"{method}: the answer has no result")
        return reply["result"]

    async def chain_id(self) -> int:
        return _quantity(await self.call("eth_chainId", []), "eth_chainId")

    async def block_number(self) -> int:
        return _quantity(await self.call("eth_blockNumber", []), "eth_blockNumber")

    async def block_hash(self, number: int) -> str | None:
        """The hash of block ``number``, or None if the node has no such block (yet)."""
        block = await self.call("eth_getBlockByNumber", [hex(number), False])
        if block is None:
            return None
        if not isinstance(block, dict):
            raise RpcError("eth_getBlockByNumber: not an object")
        if _quantity(block.get("number"), "block number") != number:
            raise RpcError("eth_getBlockByNumber: the node answered another block")
        block_hash = block.get("hash")
        if not isinstance(block_hash, str) or not _HASH.match(block_hash):
            raise RpcError("eth_getBlockByNumber: malformed hash")
        return block_hash.lower()

    async def get_logs(
        self, address: str, topic0: str, from_block: int, to_block: int
    ) -> list[Any]:
        logs = await self.call(
            "eth_getLogs",
            [
                {
                    "address": address,
                    "topics": [topic0],
                    "fromBlock": hex(from_block),
                    "toBlock": hex(to_block),
                }
            ],
        )
        if not isinstance(logs, list):
            raise RpcError("eth_getLogs: not a list")
        return logs

    async def eth_call(self, to: str, data: str) -> bytes:
        result = await self.call("eth_call", [{"to": to, "data": data}, "latest"])
        if not isinstance(result, str) or not _DATA.match(result):
            raise RpcError("eth_call: malformed return data")
        return bytes.fromhex(result[2:])

    async def get_code(self, address: str) -> bytes:
        result = await self.call("eth_getCode", [address, "latest"])
        if not isinstance(result, str) or not _DATA.match(result):
            raise RpcError("eth_getCode: malformed code")
        return bytes.fromhex(result[2:])


def _quantity(value: object, what: str) -> int:
    if not isinstance(value, str) or not _QUANTITY.match(value):
        raise RpcError(f"{what}: not a hex quantity")
    return int(value, 16)
