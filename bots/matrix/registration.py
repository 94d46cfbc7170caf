"""The application-service registration a homeserver needs before it talks to the bridge.

A homeserver learns about an application service from a YAML file it reads at start
(Synapse: ``app_service_config_files``). The file names the URL the homeserver pushes
transactions to, the two shared tokens, the bot's localpart and the user namespace the bridge
owns exclusively (its puppets). Format: the Matrix application-service API, "Registration".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bridge.keyfile import write_private_file

__all__ = ["Registration", "puppet_regex", "write_registration"]


@dataclass(frozen=True, slots=True)
class Registration:
    id: str
    url: str
    as_token: str
    hs_token: str
    bot_localpart: str
    puppet_prefix: str
    server_name: str

    def document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "as_token": self.as_token,
            "hs_token": self.hs_token,
            "sender_localpart": self.bot_localpart,
            "namespaces": {
                "users": [
                    {
                        "exclusive": True,
                        "regex": puppet_regex(self.puppet_prefix, self.server_name),
                    }
                ],
                "aliases": [],
                "rooms": [],
            },
            # The outbox paces and retries; the homeserver's per-user limits would only add
            # M_LIMIT_EXCEEDED round trips for puppets that each post rarely.
            "rate_limited": False,
        }

    def yaml(self) -> str:
        return yaml.safe_dump(self.document(), sort_keys=False)


def puppet_regex(prefix: str, server_name: str) -> str:
    return f"@{re.escape(prefix)}.*:{re.escape(server_name)}"


def write_registration(path: Path, registration: Registration, *, overwrite: bool = False) -> None:
    """Write the registration YAML with mode 0600: it holds both tokens."""
    write_private_file(path, registration.yaml(), overwrite=overwrite)
