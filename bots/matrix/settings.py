"""The ``[matrix]`` section, as the adapter and the registration need it."""

from __future__ import annotations

from pathlib import Path

from bots.matrix.registration import Registration
from bridge.config import MatrixSettings

__all__ = ["registration_of", "tokens"]

MAX_TOKEN_FILE = 4096


def _secret(value: str | None, path: Path | None, name: str) -> str:
    if value:
        return value
    if path is None:
        raise ValueError(f"matrix.{name} is not set (nor matrix.{name}_file)")
    with path.open("rb") as handle:
        text = handle.read(MAX_TOKEN_FILE).decode("utf-8").strip()
    if not text:
        raise ValueError(f"matrix.{name}_file {path} is empty")
    return text


def tokens(settings: MatrixSettings) -> tuple[str, str]:
    """(as_token, hs_token): from the config or the environment, else from their files."""
    as_token = settings.as_token.get_secret_value() if settings.as_token else None
    hs_token = settings.hs_token.get_secret_value() if settings.hs_token else None
    return (
        _secret(as_token, settings.as_token_file, "as_token"),
        _secret(hs_token, settings.hs_token_file, "hs_token"),
    )


def registration_of(settings: MatrixSettings) -> Registration:
    if settings.server_name is None:
        raise ValueError("matrix.server_name is not set")
    as_token, hs_token = tokens(settings)
    host = settings.listen_host
    host = f"[{host}]" if ":" in host else host
    return Registration(
        id=settings.appservice_id,
        url=settings.appservice_url or f"http://{host}:{settings.listen_port}",
        as_token=as_token,
        hs_token=hs_token,
        bot_localpart=settings.bot_localpart,
        puppet_prefix=settings.puppet_prefix,
        server_name=settings.server_name,
    )
