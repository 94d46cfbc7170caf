"""HTTP plumbing of the Discord stand-in: error bodies, request bodies, fault answers."""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.discord_models import Fault, Json, invalid_form

API_PREFIX = "/api/v10"


class ApiError(Exception):
    """Raised by a handler to answer with Discord's JSON error body."""

    def __init__(self, status: int, body: Json) -> None:
        super().__init__(f"{status}: {body.get('message')}")
        self.status = status
        self.body = body


def api_error(status: int, code: int, message: str) -> ApiError:
    return ApiError(status, {"message": message, "code": code})


def json_response(
    data: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> web.Response:
    """A JSON response whose Content-Type is exactly ``application/json`` (discord.py insists)."""
    all_headers = {"Content-Type": "application/json"}
    if headers:
        all_headers.update(headers)
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


@dataclass
class Body:
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # (field, filename, data)

    def payload(self) -> Json:
        """The JSON payload: the body itself, or ``payload_json`` of a multipart body."""
        if "payload_json" in self.form:
            value: Any = json.loads(self.form["payload_json"])
        else:
            value = self.json
        return value if isinstance(value, dict) else {}


BODY = web.RequestKey("body", Body)


def to_int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise api_error(404, 0, "404: Not Found") from None


def avatar_hash(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def matches(pattern: str, method: str, path: str) -> bool:
    return fnmatch.fnmatchcase(f"{method} {path}", pattern) or fnmatch.fnmatchcase(path, pattern)


def check_webhook_name(field_name: str, name: str) -> None:
    lowered = name.lower()
    for banned in ("discord", "clyde"):
        if banned in lowered:
            raise ApiError(
                400,
                invalid_form(
                    field_name, "USERNAME_INVALID_CONTAINS", f'Username cannot contain "{banned}"'
                ),
            )


def fault_response(fault: Fault) -> web.Response:
    if fault.status == 429:
        body = fault.body or {
            "message": "You are being rate limited.",
            "retry_after": fault.retry_after,
            "global": fault.is_global,
        }
        headers = {
            "Retry-After": str(max(1, int(fault.retry_after + 0.999))),
            "X-RateLimit-Scope": "global" if fault.is_global else "user",
        }
        if fault.is_global:
            headers["X-RateLimit-Global"] = "true"
        if fault.via:
            headers["Via"] = "1.1 google"
        return json_response(body, 429, headers)
    body = fault.body or {"message": f"{fault.status}: Server Error", "code": 0}
    return json_response(body, fault.status)


async def read_body(request: web.Request) -> Body:
    body = Body()
    if not request.can_read_body:
        return body
    content_type = request.content_type
    if content_type.startswith("multipart/"):
        reader = await request.multipart()
        while True:
            part = await reader.next()
            if part is None:
                break
            if not isinstance(part, BodyPartReader):
                continue  # nested multipart: Discord does not use it
            name = part.name or ""
            data = await part.read(decode=False)
            if part.filename is not None:
                body.files.append((name, part.filename, bytes(data)))
            else:
                body.form[name] = bytes(data).decode()
        return body
    raw = await request.read()
    if content_type == "application/json" and raw:
        body.json = json.loads(raw)
    elif content_type == "application/x-www-form-urlencoded":
        body.form = {k: str(v) for k, v in (await request.post()).items()}
    return body
