"""Parley's configuration: one TOML file plus environment overrides -> typed, frozen settings.

This is the only place that reads raw configuration. Everything deeper in the bridge receives
a ``Settings`` value (or one of its sections) and never looks at dicts or the environment.

Rules the loader enforces, so that an operator sees every mistake at once:
- unknown keys are errors, with a "did you mean" suggestion;
- every problem is reported with its dotted key path (``waku.rest_port``, ``rooms[1].name``);
- relative paths resolve against the directory of the config file, not the working directory;
- any scalar key can be overridden from the environment as ``PARLEY_<SECTION>__<KEY>``, parsed
  by the field's type (lists as JSON or comma-separated; an empty variable counts as unset);
  ``PARLEY_KEY_PASSPHRASE`` and the platforms' ``PlatformSpec.env_secrets`` are shortcuts for
  the secrets.

The platforms' sections and their keys in ``[[rooms]]`` are not written here: each registered
``PlatformSpec`` brings its own (``settings_model`` as ``[<name>]``, ``room_keys``), and
``settings_model(platforms)`` builds the ``Settings`` type of a build from them. Code reads a
platform's section with ``settings.section(ItsSettings)`` and its room keys with
``room.keys(ItsRoomKeys)``.
"""

from __future__ import annotations

import copy
import difflib
import functools
import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, NamedTuple, Protocol, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)

from bridge.model import ChatId, ChatRef
from bridge.status.links import CommunityRef, parse_community
from bridge.status.names import display_name_problem

__all__ = [
    "AvatarSettings",
    "BridgeSettings",
    "ChainSettings",
    "ConfigError",
    "FeedSettings",
    "HttpUrl",
    "IdentitySettings",
    "ListedChat",
    "PlatformConfig",
    "PointsSettings",
    "Port",
    "Problem",
    "RawHook",
    "RoomKeys",
    "RoomSettings",
    "Secret",
    "Section",
    "Settings",
    "StoreSettings",
    "WakuSettings",
    "WebSettings",
    "WsUrl",
    "load_config",
    "parse_config",
    "settings_model",
]

ENV_PREFIX = "PARLEY_"
# Shortcuts for the secrets an operator is most likely to set by hand (the platforms add theirs:
# PlatformSpec.env_secrets).
ENV_SHORTCUTS: Mapping[str, tuple[str, str]] = {
    "PARLEY_KEY_PASSPHRASE": ("identity", "passphrase"),
}

Problem = tuple[str, str]


class ConfigError(ValueError):
    """The configuration is unusable; ``problems`` lists every (key path, message) found."""

    def __init__(self, problems: Sequence[Problem], source: Path | None = None) -> None:
        self.problems: list[Problem] = list(problems)
        self.source = source
        where = f" in {source}" if source is not None else ""
        lines = [f"{len(self.problems)} configuration problem(s){where}:"]
        lines += [f"  {path}: {message}" if path else f"  {message}" for path, message in problems]
        super().__init__("\n".join(lines))


# --- field types ---------------------------------------------------------------------------

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_PUBSUB_TOPIC = re.compile(r"^/waku/2/rs/(\d+)/(\d+)$")
_HEX32 = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")


def _empty_to_none(value: Any) -> Any:
    # An empty token means "no token" (the bot stays off), not a token that fails later.
    if value == "" or (isinstance(value, SecretStr) and not value.get_secret_value()):
        return None
    return value


def _check_address(value: Any) -> Any:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise ValueError("must be a 0x-prefixed 20-byte hex address (0x + 40 hex digits)")
    body = value[2:]
    if body != body.lower() and body != body.upper():
        # Mixed case is an EIP-55 checksum claim: a typo must not silently pass.
        from crypto.keys import checksum_address

        expected = checksum_address(bytes.fromhex(body))[2:]
        if body != expected:
            raise ValueError("has mixed case but fails its EIP-55 checksum (a typo?)")
    return value


def _check_http_url(value: Any) -> Any:
    if isinstance(value, str) and not re.match(r"^https?://[^\s/]+", value):
        raise ValueError("must be an http:// or https:// URL")
    return value


def _check_ws_url(value: Any) -> Any:
    if isinstance(value, str) and not re.match(r"^wss?://[^\s/]+", value):
        raise ValueError("must be a ws:// or wss:// URL")
    return value


def strip_slash(value: str) -> str:
    return value.rstrip("/")


Address = Annotated[str, BeforeValidator(_check_address)]
HttpUrl = Annotated[str, BeforeValidator(_check_http_url)]
WsUrl = Annotated[str, BeforeValidator(_check_ws_url)]
Secret = Annotated[SecretStr | None, BeforeValidator(_empty_to_none)]
Port = Annotated[int, Field(ge=0, le=65535)]  # 0 = any free port (tests)
ShardId = Annotated[int, Field(ge=0, le=1023)]
PositiveFloat = Annotated[float, Field(gt=0)]


class Section(BaseModel):
    """A table of the config: unknown keys are errors, values frozen, paths resolved."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _resolve_paths(cls, value: Any, info: ValidationInfo) -> Any:
        # Relative paths are relative to the config file, wherever parley was started from.
        base = info.context.get("base_dir") if isinstance(info.context, dict) else None
        if isinstance(value, Path) and base is not None and not value.is_absolute():
            return (Path(base) / value.expanduser()).resolve()
        if isinstance(value, Path):
            return value.expanduser()
        return value


# --- sections ------------------------------------------------------------------------------


class BridgeSettings(Section):
    name: str = Field(default="parley", min_length=1)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    data_dir: Path = Field(default=Path("data"), validate_default=True)
    # Per sender and room: messages at once, then per minute; over it they are refused.
    flood_burst: int = Field(default=10, ge=0)  # 0: no limit
    flood_per_minute: PositiveFloat = 20.0

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class StoreSettings(Section):
    # None until load: then "<data_dir>/parley.db".
    path: Path | None = None


class IdentitySettings(Section):
    # None until load: then "<data_dir>/identity.json".
    keystore: Path | None = None
    passphrase_file: Path | None = None
    # Best set from the environment (PARLEY_KEY_PASSPHRASE), never written in the file.
    passphrase: Secret = None


class WakuSettings(Section):
    mode: Literal["embedded", "nwaku"] = "embedded"
    rest_host: str = "127.0.0.1"
    rest_port: Port = 8645
    nwaku_url: HttpUrl | None = None
    cluster_id: int = Field(default=16, ge=0, le=65535)
    shards: list[ShardId] = Field(default_factory=lambda: [32, 64, 128, 256], min_length=1)
    num_shards_in_network: int = Field(default=0, ge=0, le=1024)
    relay_cache_capacity: int = Field(default=50, ge=1)
    rest_max_connections: int = Field(default=64, ge=1)
    # The REST API's guards: a bearer token (best from PARLEY_WAKU__REST_TOKEN), extra Host
    # names and browser Origins it accepts, and its memory bounds.
    rest_token: Secret = None
    rest_allowed_hosts: list[str] = Field(default_factory=list)
    rest_allowed_origins: list[str] = Field(default_factory=list)
    rest_cache_bytes: int = Field(default=64 * 1024 * 1024, ge=1024)
    rest_max_topics: int = Field(default=100, ge=1)
    rest_store_page_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    retention_messages: int = Field(default=100_000, ge=1)
    retention_days: PositiveFloat = 30.0
    retention_bytes: int = Field(default=1024 * 1024 * 1024, ge=1024 * 1024)
    poll_interval: PositiveFloat = 0.5
    store_peer: str | None = None

    @field_validator("nwaku_url", mode="after")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return None if value is None else strip_slash(value)

    @field_validator("store_peer", mode="after")
    @classmethod
    def _multiaddr(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError("must be a multiaddr such as /dns4/host/tcp/60000/p2p/16Uiu2...")
        return value

    @field_validator("shards", mode="after")
    @classmethod
    def _unique_shards(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("lists a shard more than once")
        return value

    @property
    def pubsub_topics(self) -> list[str]:
        """The static-sharding pubsub topics this bridge subscribes to."""
        return [f"/waku/2/rs/{self.cluster_id}/{shard}" for shard in self.shards]

    @property
    def retention_seconds(self) -> int:
        return max(1, round(self.retention_days * 86400))


class WebSettings(Section):
    host: str = "127.0.0.1"
    port: Port = 8080
    public_url: HttpUrl = "http://127.0.0.1:8080"
    # Both HTTP servers (this one and the Waku REST API): seconds to send a request's headers
    # and its body, and open connections at most (web; [waku] rest_max_connections for REST).
    header_timeout: PositiveFloat = 10.0
    body_timeout: PositiveFloat = 30.0
    max_connections: int = Field(default=256, ge=1)

    @field_validator("public_url", mode="after")
    @classmethod
    def _no_trailing_slash(cls, value: str) -> str:
        return strip_slash(value)


class ListedChat(NamedTuple):
    """One chat a room's key names: the key, how a problem names the chat, the chat."""

    key: str
    label: str
    chat: ChatRef


class RoomKeys(Section):
    """A platform's own keys in ``[[rooms]]`` (``PlatformSpec.room_keys``), merged into the room
    table beside the core's: older configs list a platform's chats under a key of its own."""

    def platform_chats(self) -> list[ListedChat]:
        """The chats these keys name."""
        return []


_K = TypeVar("_K", bound=RoomKeys)
_S = TypeVar("_S", bound=BaseModel)


class RoomSettings(Section):
    room_keys: ClassVar[tuple[type[RoomKeys], ...]] = ()
    """The registered platforms' own keys (set by ``settings_model``)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    waku_chat: str | None = Field(default=None, min_length=1)
    waku_key: Secret = None
    waku_pubsub_topic: str = "/waku/2/rs/16/32"
    # A Status community channel: the community (id, zQ3… key or status.app link) and the
    # channel's name or UUID (not needed with a channel link).
    status_community: str | None = Field(default=None, min_length=1)
    status_channel: str | None = Field(default=None, min_length=1, max_length=200)
    # Any platform's chats as "platform:id" (e.g. "<platform>:<chat id>"), beside or instead
    # of a platform's own room keys (RoomKeys).
    chats: list[str] = Field(default_factory=list)

    @field_validator("status_community", mode="after")
    @classmethod
    def _community(cls, value: str | None) -> str | None:
        if value is not None:
            parse_community(value)  # LinkError is a ValueError: reported with the key path
        return value

    def keys(self, model: type[_K]) -> _K:
        """A platform's keys of this room (their defaults if the build has no such keys)."""
        return self if isinstance(self, model) else model.model_validate({})

    def listed_chats(self) -> list[ListedChat]:
        """Every chat the room's keys name, in order: the platforms' own keys, the Waku chat,
        then ``chats``."""
        found: list[ListedChat] = []
        for model in type(self).room_keys:
            found += model.platform_chats(self.keys(model))
        if self.waku_chat is not None:
            found.append(ListedChat("waku_chat", f"chat {self.waku_chat!r}", self._waku_ref))
        elif self.waku_room is not None:
            found.append(ListedChat("status_community", self.waku_room, self._waku_ref))
        found += [ListedChat("chats", chat, ChatRef.parse(chat)) for chat in self.chats]
        return found

    @property
    def _waku_ref(self) -> ChatRef:
        assert self.waku_room is not None
        return ChatRef("waku", ChatId(self.waku_room))

    @property
    def members(self) -> list[ChatRef]:
        """The room's chats, each once: the platforms' own keys first, then ``chats``."""
        found: list[ChatRef] = []
        for listed in self.listed_chats():
            if listed.chat not in found:
                found.append(listed.chat)
        return found

    @property
    def waku_room(self) -> str | None:
        """The room's chat id on the Waku side: ``waku_chat``, or for a community channel a
        name of the bridge's own (``status:<room>``; the Status chat id may not be known yet)."""
        if self.status_community is not None:
            return f"status:{self.name}"
        return self.waku_chat

    @property
    def status_ref(self) -> CommunityRef | None:
        if self.status_community is None:
            return None
        return parse_community(self.status_community)

    @field_validator("chats", mode="after")
    @classmethod
    def _chat_refs(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # The loader passes the registered platforms' chat-id parsers in the context.
        parsers = info.context.get("chat_parsers") if isinstance(info.context, dict) else None
        for chat in value:
            ref = ChatRef.parse(chat)
            if ref.platform == "waku":
                raise ValueError("a Waku chat needs its topic and key: use waku_chat")
            if parsers is None:
                continue
            if ref.platform not in parsers:
                known = ", ".join(parsers) or "none"
                raise ValueError(
                    f"{chat!r}: this build has no platform {ref.platform!r} (platforms: {known})"
                )
            parsers[ref.platform](ref.chat_id)  # its ValueError names the chat
        return value

    @field_validator("waku_key", mode="after")
    @classmethod
    def _key_hex(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not _HEX32.match(value.get_secret_value()):
            raise ValueError("must be 32 bytes as 64 hex digits (optionally 0x-prefixed)")
        return value

    @field_validator("waku_pubsub_topic", mode="after")
    @classmethod
    def _topic(cls, value: str) -> str:
        if not _PUBSUB_TOPIC.match(value):
            raise ValueError("must be a static-sharding topic /waku/2/rs/<cluster>/<shard>")
        return value

    @property
    def waku_key_bytes(self) -> bytes | None:
        if self.waku_key is None:
            return None
        return bytes.fromhex(self.waku_key.get_secret_value().removeprefix("0x"))


class ChainSettings(Section):
    rpc_url: HttpUrl | None = None
    chain_id: int = Field(default=1, ge=1)
    confirmations: int = Field(default=3, ge=0)
    tipjar: Address | None = None
    feed_contract: Address | None = None
    explorer_tx_url: str | None = Field(default=None, pattern=r"^https://[^\s]*\{tx\}[^\s]*$")
    tokens: dict[str, Address] = Field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return self.rpc_url is not None


class FeedSettings(Section):
    waku_chat: str = Field(default="parley-feed", min_length=1)
    anchor: Literal["none", "each", "batch"] = "none"
    batch_interval: PositiveFloat = 3600.0
    auto_post_rooms: list[str] = Field(default_factory=list)
    kubo_url: HttpUrl | None = None


class PointsSettings(Section):
    """``[points]``: community points (bridge/points). Off while ``rooms`` is empty."""

    rooms: list[str] = Field(default_factory=list)
    token: Address | None = None
    distributor: Address | None = None
    token_decimals: int = Field(default=18, ge=0, le=36)
    weight_message: int = Field(default=1, ge=0, le=1000)
    weight_reply: int = Field(default=2, ge=0, le=1000)
    weight_reaction: int = Field(default=1, ge=0, le=1000)
    weight_tip: int = Field(default=5, ge=0, le=1000)
    daily_cap: int = Field(default=100, ge=0)
    min_message_length: int = Field(default=10, ge=0)
    flood_messages: int = Field(default=5, ge=1)
    flood_seconds: PositiveFloat = 10.0
    cycle_days: float = Field(default=0.0, ge=0)
    max_award: int = Field(default=10_000, ge=1)

    @property
    def enabled(self) -> bool:
        return bool(self.rooms)


class AvatarSettings(Section):
    ipfs_gateway: HttpUrl = "https://ipfs.io/ipfs/"
    arweave_gateway: HttpUrl = "https://arweave.net/"
    max_image_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    fetch_timeout: PositiveFloat = 10.0
    recheck_hours: PositiveFloat = 24.0


class Settings(Section):
    bridge: BridgeSettings = Field(default_factory=BridgeSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    waku: WakuSettings = Field(default_factory=WakuSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    rooms: list[RoomSettings] = Field(default_factory=list)
    chain: ChainSettings = Field(default_factory=ChainSettings)
    feed: FeedSettings = Field(default_factory=FeedSettings)
    points: PointsSettings = Field(default_factory=PointsSettings)
    # The TOML section may be called [nft] or [avatars]; it is one section.
    nft: AvatarSettings = Field(default_factory=AvatarSettings)

    @property
    def avatars(self) -> AvatarSettings:
        return self.nft

    @property
    def store_path(self) -> Path:
        return self.store.path or self.bridge.data_dir / "parley.db"

    @property
    def keystore_path(self) -> Path:
        return self.identity.keystore or self.bridge.data_dir / "identity.json"

    def section(self, model: type[_S]) -> _S:
        """A platform's section (``PlatformSpec.settings_model``); its defaults if the settings
        were loaded without that platform (then the file could not have set it)."""
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, model):
                return value
        return model.model_validate({})

    def secrets(self) -> list[str]:
        """Every secret value in the settings, of every section and room: the log formatter
        masks them."""
        found: list[str] = []
        _collect_secrets(self, found)
        return found


def _collect_secrets(value: object, found: list[str]) -> None:
    if isinstance(value, SecretStr):
        if value.get_secret_value():
            found.append(value.get_secret_value())
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            _collect_secrets(getattr(value, name), found)
    elif isinstance(value, list | tuple):
        for item in value:
            _collect_secrets(item, found)
    elif isinstance(value, dict):
        for item in value.values():
            _collect_secrets(item, found)


RawHook = Callable[[dict[str, Any], Mapping[str, str], Path, list[Problem]], None]
"""Edits the raw config document before it is validated: (document, environment, the config's
directory, problems to add to)."""


class PlatformConfig(Protocol):
    """What the loader reads of a platform's spec (``bridge.platforms.PlatformSpec``)."""

    @property
    def name(self) -> str: ...
    @property
    def settings_model(self) -> type[BaseModel]: ...
    @property
    def parse_chat_id(self) -> Callable[[str], ChatId]: ...
    @property
    def env_secrets(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def room_keys(self) -> type[RoomKeys] | None: ...
    @property
    def check(self) -> Callable[[Settings], Sequence[Problem]] | None: ...
    @property
    def prepare(self) -> RawHook | None: ...


@functools.cache
def _build_model(
    sections: tuple[tuple[str, type[BaseModel]], ...], keys: tuple[type[RoomKeys], ...]
) -> type[Settings]:
    if not sections and not keys:
        return Settings
    room: type[RoomSettings] = RoomSettings
    if keys:
        bases: tuple[type[BaseModel], ...] = (RoomSettings, *keys)
        room = typing.cast(type[RoomSettings], create_model("RoomSettings", __base__=bases))
        room.room_keys = keys
    fields: dict[str, Any] = {
        name: (model, Field(default_factory=model)) for name, model in sections
    }
    fields["rooms"] = (types.GenericAlias(list, (room,)), Field(default_factory=list))
    return create_model("Settings", __base__=Settings, **fields)


def settings_model(platforms: Sequence[PlatformConfig] = ()) -> type[Settings]:
    """The ``Settings`` type of a build: the core's sections plus each platform's ``[<name>]``
    section and its keys in ``[[rooms]]``."""
    own: list[PlatformConfig] = []
    for spec in platforms:
        core = Settings.model_fields.get(spec.name)
        if core is not None and core.annotation is spec.settings_model:
            # A platform carried over a core transport (the Status rooms over the bridge's
            # Waku node) is configured by that transport's own section.
            continue
        if core is not None or spec.name in _SECTION_ALIASES:
            raise ValueError(f"platform {spec.name!r} would hide the core's section of that name")
        own.append(spec)
    return _build_model(
        tuple((spec.name, spec.settings_model) for spec in own),
        tuple(spec.room_keys for spec in platforms if spec.room_keys is not None),
    )


_SECTION_ALIASES = {"avatars": "nft"}


# --- loading -------------------------------------------------------------------------------


def default_config_path(env: Mapping[str, str] | None = None) -> Path:
    """Where the CLI looks without ``--config``: ``$PARLEY_CONFIG``, else ``config.toml`` in
    the working directory. An empty variable counts as unset, as everywhere in the config
    (compose passes an unset one as empty)."""
    env = os.environ if env is None else env
    return Path(env.get("PARLEY_CONFIG") or "config.toml")


def load_config(
    path: Path,
    env: Mapping[str, str] | None = None,
    *,
    platforms: Sequence[PlatformConfig] = (),
) -> Settings:
    """Read, override from ``env`` (default: ``os.environ``) and validate one config file, with
    the sections and room keys of ``platforms`` (the build's registry, from its entry point).

    Raises ``ConfigError`` listing every problem, or ``OSError`` if the file cannot be read.
    """
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text("utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("", f"not valid TOML: {exc}")], source=path) from exc
    return parse_config(
        raw, base_dir=path.resolve().parent, env=env, source=path, platforms=platforms
    )


def parse_config(
    raw: Mapping[str, Any],
    *,
    base_dir: Path,
    env: Mapping[str, str] | None = None,
    source: Path | None = None,
    platforms: Sequence[PlatformConfig] = (),
) -> Settings:
    """Validate an already-parsed TOML document (see ``load_config``)."""
    model = settings_model(platforms)
    problems: list[Problem] = []
    # Env overrides edit the document; the caller's copy stays as it was.
    data = _canonical_sections(copy.deepcopy(dict(raw)), problems)
    shortcuts = dict(ENV_SHORTCUTS)
    for spec in platforms:
        shortcuts.update((var, (spec.name, key)) for var, key in spec.env_secrets)
    from_env = _apply_env(data, os.environ if env is None else env, problems, model, shortcuts)
    for spec in platforms:
        if spec.prepare is not None:
            spec.prepare(data, os.environ if env is None else env, base_dir, problems)
    unknown = _unknown_room_keys(_unknown_keys(model, data, ""), model, platforms)
    problems += _unknown_sections(unknown, data, platforms)
    for section in _sections(model):
        # A missing section must still be validated (with the base_dir context), not built
        # by its default factory, so that its default relative paths resolve too.
        data.setdefault(section, {})
    context = {
        "base_dir": base_dir,
        "chat_parsers": {spec.name: spec.parse_chat_id for spec in platforms},
    }
    try:
        settings = model.model_validate(data, context=context)
    except ValidationError as exc:
        for path, message in _pydantic_problems(exc):
            var = from_env.get(path)
            problems.append((path, f"{message} (set by {var})" if var else message))
        raise ConfigError(_dedupe(problems), source=source) from None
    problems += _cross_checks(settings, platforms)
    if problems:
        raise ConfigError(_dedupe(problems), source=source)
    return _fill_defaults(settings)


def _canonical_sections(data: dict[str, Any], problems: list[Problem]) -> dict[str, Any]:
    for alias, name in _SECTION_ALIASES.items():
        if alias in data:
            if name in data:
                problems.append((alias, f"[{alias}] and [{name}] are the same section; keep one"))
            data[name] = data.pop(alias)
    return data


def _fill_defaults(settings: Settings) -> Settings:
    store = settings.store.model_copy(update={"path": settings.store_path})
    identity = settings.identity.model_copy(update={"keystore": settings.keystore_path})
    return settings.model_copy(update={"store": store, "identity": identity})


# --- environment overrides -----------------------------------------------------------------


def _apply_env(
    data: dict[str, Any],
    env: Mapping[str, str],
    problems: list[Problem],
    model: type[Settings],
    shortcuts: Mapping[str, tuple[str, str]],
) -> dict[str, str]:
    """Apply overrides in place; returns which key paths came from which variable."""
    applied: dict[str, str] = {}
    for var in sorted(env):
        if not var.startswith(ENV_PREFIX):
            continue
        value = env[var]
        if value == "":
            # An empty variable means "not set": compose passes unset ones as ${X:-}.
            continue
        if var in shortcuts:
            section, key = shortcuts[var]
        elif "__" in var:
            section, _, key = var[len(ENV_PREFIX) :].lower().partition("__")
            section = _SECTION_ALIASES.get(section, section)
        else:
            continue  # not ours to judge: PARLEY_* variables used by other tools
        where = f"env {var}"
        section_model = _section_model(model, section)
        if section_model is None:
            known = _sections(model)
            problems.append((where, f"unknown section {section!r}{_suggest(section, known)}"))
            continue
        field = section_model.model_fields.get(key)
        if field is None:
            known = list(section_model.model_fields)
            problems.append(
                (where, f"unknown key '{section}.{key}'{_suggest(key, known)}"),
            )
            continue
        target = data.setdefault(section, {})
        if not isinstance(target, dict):
            problems.append((where, f"[{section}] in the file is not a table"))
            continue
        target[key] = _env_value(field.annotation, value)
        applied[f"{section}.{key}"] = var
    return applied


def _sections(model: type[Settings]) -> list[str]:
    return [name for name, f in model.model_fields.items() if _model_of(f.annotation)]


def _section_model(model: type[Settings], name: str) -> type[BaseModel] | None:
    field = model.model_fields.get(name)
    if field is None or name == "rooms":
        return None
    return _model_of(field.annotation)


def _env_value(annotation: Any, value: str) -> Any:
    """Lists come as JSON (``[32, 64]``) or comma-separated; scalars are left to pydantic's
    lax parsing, which turns "9000" into 9000 for an int field."""
    if _is_list(annotation):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                return json.loads(stripped)
            except json.JSONDecodeError:
                return value
        return [item.strip() for item in stripped.split(",") if item.strip()]
    return value


# --- problem reporting ---------------------------------------------------------------------


def _suggest(word: str, candidates: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f" — did you mean {close[0]!r}?" if close else ""


def _unwrap(annotation: Any) -> list[Any]:
    """The concrete types inside Optional/Annotated/unions."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        out: list[Any] = []
        for arg in typing.get_args(annotation):
            out += _unwrap(arg)
        return out
    return [annotation]


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for candidate in _unwrap(annotation):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _is_list(annotation: Any) -> bool:
    return any(typing.get_origin(c) is list for c in _unwrap(annotation))


def _list_item_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in _unwrap(annotation):
        if typing.get_origin(candidate) is list:
            return _model_of(typing.get_args(candidate)[0])
    return None


def _unknown_keys(model: type[BaseModel], data: Any, prefix: str) -> list[Problem]:
    if not isinstance(data, dict):
        return []  # pydantic reports the wrong type with its path
    problems: list[Problem] = []
    known = list(model.model_fields)
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        field = model.model_fields.get(key)
        if field is None:
            what = "section" if not prefix and isinstance(value, dict | list) else "key"
            problems.append((path, f"unknown {what} {path!r}{_suggest(str(key), known)}"))
            continue
        sub = _model_of(field.annotation)
        if sub is not None:
            problems += _unknown_keys(sub, value, path)
            continue
        item = _list_item_model(field.annotation)
        if item is not None and isinstance(value, list):
            for index, element in enumerate(value):
                problems += _unknown_keys(item, element, f"{path}[{index}]")
    return problems


def _unknown_sections(
    problems: list[Problem], data: Mapping[str, Any], platforms: Sequence[PlatformConfig]
) -> list[Problem]:
    """An unknown table without a likely typo may be a platform this build does not have: the
    message says which platforms it has."""
    names = ", ".join(spec.name for spec in platforms) or "none"
    out: list[Problem] = []
    for path, message in problems:
        if path in data and isinstance(data[path], dict) and " — did you mean" not in message:
            message += f" (neither a core section nor a platform of this build: {names})"
        out.append((path, message))
    return out


# A platform's own room key lists its chats: "<platform>_chats", "<platform>_channels"...
_PLATFORM_ROOM_KEY = re.compile(r"^(rooms\[\d+\])\.([a-z][a-z0-9]*)_(chats|channels|rooms)$")


def _unknown_room_keys(
    problems: list[Problem], model: type[Settings], platforms: Sequence[PlatformConfig]
) -> list[Problem]:
    """An unknown room key shaped like a platform's list of chats, whose platform is neither in
    this build nor the prefix of a core key, is named as such: the core knows only the room
    keys of the registered platforms, and a suggestion of a core key that merely looks alike
    (``status_channel``) would mislead."""
    room = _list_item_model(model.model_fields["rooms"].annotation)
    known = list(room.model_fields) if room is not None else []
    ours = {key.partition("_")[0] for key in known} | {spec.name for spec in platforms}
    names = ", ".join(spec.name for spec in platforms) or "none"
    out: list[Problem] = []
    for path, message in problems:
        match = _PLATFORM_ROOM_KEY.match(path)
        if match is not None and match[2] not in ours:
            platform, suffix = match[2], match[3]
            # A typo of a registered platform's key still gets its suggestion.
            alike = _suggest(f"{platform}_{suffix}", [k for k in known if k.endswith(suffix)])
            message = (
                f"unknown key {path!r}: it lists {platform!r} chats, but this build has no "
                f"platform {platform!r} (platforms: {names}){alike}"
            )
        out.append((path, message))
    return out


def _dotted(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part.startswith(("function-", "lax-", "json-")) or part in {"str", "int"}:
            continue  # pydantic's union-branch labels, not keys
        else:
            out += f".{part}" if out else part
    return out


# pydantic's wording names Python types; operators write TOML.
_FRIENDLY = {
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dict_type": "must be a table",
    "list_type": "must be an array",
}


def _pydantic_problems(exc: ValidationError) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors(include_input=False, include_url=False):
        if error["type"] == "extra_forbidden":
            continue  # already reported, with a suggestion, by _unknown_keys
        message = _FRIENDLY.get(error["type"], str(error["msg"]).removeprefix("Value error, "))
        problems.append((_dotted(error["loc"]), message))
    return problems


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen: set[Problem] = set()
    out: list[Problem] = []
    for problem in problems:
        if problem not in seen:
            seen.add(problem)
            out.append(problem)
    return out


def _cross_checks(settings: Settings, platforms: Sequence[PlatformConfig]) -> list[Problem]:
    """Rules that span keys or sections; each problem still names a key path."""
    problems: list[Problem] = []
    waku = settings.waku
    if waku.mode == "nwaku" and waku.nwaku_url is None:
        problems.append(("waku.nwaku_url", "required when waku.mode is 'nwaku'"))
    for spec in platforms:
        if spec.check is not None:
            problems += spec.check(settings)
    chat_owner: dict[ChatRef, str] = {}
    names: dict[str, int] = {}
    communities: dict[tuple[str, str], str] = {}
    for index, room in enumerate(settings.rooms):
        at = f"rooms[{index}]"
        if room.name in names:
            problems.append(
                (
                    f"{at}.name",
                    f"room name {room.name!r} is already used by rooms[{names[room.name]}]",
                )
            )
        names.setdefault(room.name, index)
        # Whichever key names it (a platform's own or ``chats``), a chat is in one room.
        for listed in room.listed_chats():
            if chat_owner.setdefault(listed.chat, room.name) != room.name:
                owner = chat_owner[listed.chat]
                problems.append(
                    (f"{at}.{listed.key}", f"{listed.label} is already in room {owner!r}")
                )
        problems += _waku_room_checks(room, at, waku)
        problems += _status_checks(room, at, communities, waku)
    if communities:
        problem = display_name_problem(settings.bridge.name)
        if problem is not None:
            problems.append(
                ("bridge.name", f"is the bridge's Status display name in communities: {problem}")
            )
    problems += _room_names_known(settings.feed.auto_post_rooms, "feed.auto_post_rooms", names)
    if settings.feed.anchor != "none" and settings.chain.feed_contract is None:
        problems.append(
            ("chain.feed_contract", f"required when feed.anchor is {settings.feed.anchor!r}")
        )
    if settings.feed.anchor != "none" and settings.chain.rpc_url is None:
        problems.append(("chain.rpc_url", f"required when feed.anchor is {settings.feed.anchor!r}"))
    problems += _room_names_known(settings.points.rooms, "points.rooms", names)
    return problems


def _waku_room_checks(room: RoomSettings, at: str, waku: WakuSettings) -> list[Problem]:
    """A room's own Waku topic must be one the node serves, and its key needs a chat."""
    problems: list[Problem] = []
    match = _PUBSUB_TOPIC.match(room.waku_pubsub_topic)
    if match is not None:
        cluster, shard = int(match.group(1)), int(match.group(2))
        if cluster != waku.cluster_id:
            problems.append(
                (
                    f"{at}.waku_pubsub_topic",
                    f"cluster {cluster} differs from waku.cluster_id {waku.cluster_id}",
                )
            )
        elif shard not in waku.shards:
            problems.append(
                (
                    f"{at}.waku_pubsub_topic",
                    f"shard {shard} is not in waku.shards {waku.shards}",
                )
            )
    if room.waku_key is not None and room.waku_chat is None:
        problems.append((f"{at}.waku_key", "needs waku_chat (the room's name on Waku)"))
    return problems


def _room_names_known(room_names: Sequence[str], key: str, names: dict[str, int]) -> list[Problem]:
    """Each of ``room_names`` (the list at ``key``) names a room."""
    return [
        (f"{key}[{index}]", f"no room named {room_name!r}{_suggest(room_name, list(names))}")
        for index, room_name in enumerate(room_names)
        if room_name not in names
    ]


def _status_checks(
    room: RoomSettings, at: str, communities: dict[tuple[str, str], str], waku: WakuSettings
) -> list[Problem]:
    """A room names at most one community channel, and names it completely."""
    problems: list[Problem] = []
    if room.status_channel is not None and room.status_community is None:
        problems.append((f"{at}.status_channel", "needs status_community (the community)"))
    try:
        ref = room.status_ref
    except ValueError:
        return problems  # already reported by the field validator
    if ref is None:
        return problems
    if room.waku_chat is not None or room.waku_key is not None:
        problems.append(
            (
                f"{at}.status_community",
                "a room is a raw Waku chat (waku_chat) or a Status community channel "
                "(status_community), not both: use two rooms",
            )
        )
    if ref.shard is not None and (
        ref.shard[0] != waku.cluster_id or ref.shard[1] not in waku.shards
    ):
        problems.append(
            (
                f"{at}.status_community",
                f"the link puts the community on /waku/2/rs/{ref.shard[0]}/{ref.shard[1]}, "
                f"which is not in waku.cluster_id/waku.shards",
            )
        )
    channel = room.status_channel
    if ref.channel_uuid is not None and channel is not None:
        if channel != ref.channel_uuid and channel != ref.channel_name:
            problems.append(
                (
                    f"{at}.status_channel",
                    f"the link names channel {ref.channel_uuid}; drop status_channel or make "
                    "them agree",
                )
            )
    elif ref.channel_uuid is None and channel is None:
        problems.append(
            (
                f"{at}.status_channel",
                'required with a community link or id: the channel\'s name (e.g. "general") '
                "or UUID, or paste a channel link (https://status.app/cc/…) instead",
            )
        )
    key = (ref.community_id, ref.channel_uuid or channel or "")
    if key in communities and communities[key] != room.name:
        problems.append(
            (f"{at}.status_channel", f"this channel is already in room {communities[key]!r}")
        )
    communities.setdefault(key, room.name)
    return problems
