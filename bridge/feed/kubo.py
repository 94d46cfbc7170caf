"""Optional pinning of feed records to a Kubo (go-ipfs) node over its RPC API.

One endpoint: ``POST /api/v0/add?cid-version=1&raw-leaves=true&pin=true`` with the record as a
multipart ``file``. For a record under one chunk (256 KiB; records are at most 64 KiB) Kubo's
answer ``Hash`` is exactly the CIDv1 raw the bridge computed; a different answer is an error.
"""

from __future__ import annotations

import json

import aiohttp

__all__ = ["KuboClient", "KuboError"]

_MAX_ANSWER = 64 * 1024


class KuboError(RuntimeError):
    """The Kubo node refused, was unreachable, or answered with another CID."""


class KuboClient:
    def __init__(self, base_url: str, *, timeout: float = 20.0) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def add(self, data: bytes, expected_cid: str) -> str:
        form = aiohttp.FormData()
        form.add_field(
            "file", data, filename="record.json", content_type="application/octet-stream"
        )
        params = {"cid-version": "1", "raw-leaves": "true", "pin": "true"}
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout, trust_env=False) as session,
                session.post(f"{self._base}/api/v0/add", params=params, data=form) as resp,
            ):
                body = await resp.content.read(_MAX_ANSWER)
                if resp.status != 200:
                    raise KuboError(f"Kubo answered HTTP {resp.status}: {body[:200]!r}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KuboError(f"Kubo unreachable: {type(exc).__name__}: {exc}") from exc
        try:
            # Kubo streams one JSON object per line; the last names the added file.
            answer = json.loads(body.decode().strip().splitlines()[-1])
            cid = str(answer["Hash"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise KuboError(f"unexpected Kubo answer: {body[:200]!r}") from exc
        if cid != expected_cid:
            raise KuboError(f"Kubo computed {cid}, the bridge {expected_cid}")
        return cid
