"""The ``[matrix]`` section, as the adapter and the registration need it."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from bots.matrix.registration import Registration
from bridge.config import HttpUrl, Port, Problem, Secret, Section, Settings, strip_slash

__all__ = ["ENV_SECRETS", "MatrixSettings", "check", "registration_of", "tokens"]

ENV_SECRETS = (("PARLEY_MATRIX_AS_TOKEN", "as_token"), ("PARLEY_MATRIX_HS_TOKEN", "hs_token"))


class MatrixSettings(Section):
    """The Matrix application service (``bots.matrix``); on when ``homeserver_url`` is set."""

    homeserver_url: HttpUrl | None = None
    server_name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9.:\-\[\]]{1,255}$")
    as_token: Secret = None
    hs_token: Secret = None
    as_token_file: Path | None = None
    hs_token_file: Path | None = None
    listen_host: str = "127.0.0.1"
    listen_port: Port = 29330
    # Where the homeserver reaches the listener (the registration's url); default
    # http://<listen_host>:<listen_port>.
    appservice_url: HttpUrl | None = None
    appservice_id: str = Field(default="parley", pattern=r"^[A-Za-z0-9_.\-]{1,64}$")
    bot_localpart: str = Field(default="parley", pattern=r"^[a-z0-9._=\-/]{1,64}$")
    puppet_prefix: str = Field(default="parley_", pattern=r"^[a-z0-9._=\-/]{1,32}$")
    admins: list[str] = Field(default_factory=list)

    @field_validator("homeserver_url", "appservice_url", mode="after")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return None if value is None else strip_slash(value)

    @property
    def enabled(self) -> bool:
        return self.homeserver_url is not None


def check(settings: Settings) -> list[Problem]:
    """An application service needs its server name and both tokens."""
    matrix = settings.section(MatrixSettings)
    problems: list[Problem] = []
    if not matrix.enabled:
        return problems
    if matrix.server_name is None:
        problems.append(("matrix.server_name", "required when matrix.homeserver_url is set"))
    for name in ("as_token", "hs_token"):
        if getattr(matrix, name) is None and getattr(matrix, f"{name}_file") is None:
            problems.append(
                (f"matrix.{name}", f"required (or {name}_file) when matrix is configured")
            )
    return problems


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
