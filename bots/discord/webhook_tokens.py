"""Discord webhook tokens from the environment or a file, like the other secrets.

A webhook sits inside a ``[[rooms]]`` list, where ``PARLEY_<SECTION>__<KEY>`` overrides cannot
reach, so each webhook has its own variable, named by its (unique) webhook id:
``PARLEY_WEBHOOK_TOKEN_<id>``. Or ``token_file`` names a file holding the token (relative to
the config file, like every path). The environment wins over the file, the file over an inline
``token``, as for the keystore passphrase.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from bridge.config import Problem

__all__ = ["WEBHOOK_TOKEN_ENV_PREFIX", "resolve_webhook_tokens"]

WEBHOOK_TOKEN_ENV_PREFIX = "PARLEY_WEBHOOK_TOKEN_"  # noqa: S105 (a variable name, not a secret)
# A Discord webhook token is 68 characters; anything far larger is not one.
_MAX_TOKEN_FILE = 4096


def resolve_webhook_tokens(
    data: dict[str, Any],
    env: Mapping[str, str],
    base_dir: Path,
    problems: list[Problem],
) -> None:
    """Fill ``token`` of every ``rooms[].webhooks[]`` table in the raw document, in place, from
    its environment variable or ``token_file`` (which is consumed: the settings only ever hold
    the token itself)."""
    rooms = data.get("rooms")
    if not isinstance(rooms, list):
        return
    for i, room in enumerate(rooms):
        hooks = room.get("webhooks") if isinstance(room, dict) else None
        if not isinstance(hooks, list):
            continue
        for j, hook in enumerate(hooks):
            if isinstance(hook, dict):
                _resolve(hook, f"rooms[{i}].webhooks[{j}]", env, base_dir, problems)


def _resolve(
    hook: dict[str, Any],
    at: str,
    env: Mapping[str, str],
    base_dir: Path,
    problems: list[tuple[str, str]],
) -> None:
    token_file = hook.pop("token_file", None)
    from_env = env.get(f"{WEBHOOK_TOKEN_ENV_PREFIX}{hook.get('id')}", "")
    if from_env:
        hook["token"] = from_env
        return
    if token_file is None:
        return
    if not isinstance(token_file, str) or not token_file:
        problems.append((f"{at}.token_file", "must be a file path"))
        return
    path = Path(token_file).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    try:
        with path.open("rb") as handle:
            raw = handle.read(_MAX_TOKEN_FILE + 1)
    except OSError as exc:
        problems.append((f"{at}.token_file", f"cannot read {path}: {exc.strerror}"))
        return
    if len(raw) > _MAX_TOKEN_FILE:
        problems.append((f"{at}.token_file", f"{path} is too large to hold a webhook token"))
        return
    token = raw.decode("utf-8", errors="replace").strip()
    if not token:
        problems.append((f"{at}.token_file", f"{path} is empty"))
        return
    hook["token"] = token
