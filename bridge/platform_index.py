"""What the core knows of the bridge's platforms, gathered from their specs: names, pacing, and
how people write a user or a message of that platform in a command.

Features never test for a platform by name: ``/tip``, ``/whois``, ``/points`` and ``/post`` ask
the index instead (``native_user`` for a platform's own mention syntax, ``qualified`` for the
bridge's ``platform:id`` form, ``message_ref`` for a message named by its link).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bridge.model import NativeId, Platform, UserId

if TYPE_CHECKING:
    import aiohttp

    from bridge.config import Settings
    from bridge.outbox import Pace
    from bridge.platforms import PlatformSpec

__all__ = ["PlatformIndex", "Traits"]

UserRefParser = Callable[[str], UserId | None]
MessageRefParser = Callable[[str], NativeId | None]

_QUALIFIED = re.compile(r"([a-z][a-z0-9_]{0,31}):(.+)", re.DOTALL)


@dataclass(frozen=True)
class Traits:
    """One platform as the core sees it (a ``PlatformSpec`` gives these, among others)."""

    name: Platform
    pacing: Pace | None = None
    """Per-chat send pacing; None: none needed."""
    parse_user_ref: UserRefParser | None = None
    """The platform's own way to write a user in a command (a mention), or None."""
    parse_message_ref: MessageRefParser | None = None
    """A message named in a command by link or id (for commands that cannot reply), or None."""
    enabled: Callable[[Settings], bool] | None = None
    """Whether the config turns the platform on."""
    probe: Callable[[Settings, aiohttp.ClientSession], Awaitable[tuple[bool, str]]] | None = None
    """``parley check``: can the bridge reach and use the platform? (ok, detail)."""

    @classmethod
    def of(cls, spec: PlatformSpec) -> Traits:
        return cls(
            spec.name,
            spec.pacing,
            spec.parse_user_ref,
            spec.parse_message_ref,
            spec.enabled,
            spec.probe,
        )


class PlatformIndex:
    def __init__(self, traits: Iterable[Traits]) -> None:
        self._traits: dict[Platform, Traits] = {}
        for one in traits:
            self._traits[one.name] = one

    @classmethod
    def of(cls, specs: Iterable[PlatformSpec]) -> PlatformIndex:
        return cls(Traits.of(spec) for spec in specs)

    @property
    def traits(self) -> tuple[Traits, ...]:
        return tuple(self._traits.values())

    @property
    def names(self) -> tuple[Platform, ...]:
        return tuple(self._traits)

    def pacing(self) -> Mapping[Platform, Pace]:
        return {n: t.pacing for n, t in self._traits.items() if t.pacing is not None}

    def native_user(self, text: str) -> tuple[Platform, UserId] | None:
        """A user written in some platform's own syntax (e.g. a mention), whichever chat the
        command came from."""
        for name, traits in self._traits.items():
            if traits.parse_user_ref is not None:
                found = traits.parse_user_ref(text)
                if found is not None:
                    return name, found
        return None

    def qualified(self, text: str) -> tuple[Platform, str] | None:
        """``platform:rest`` for a platform of this bridge; the caller checks ``rest``."""
        match = _QUALIFIED.fullmatch(text)
        if match is None:
            return None
        for name in self._traits:
            if name == match.group(1):
                return name, match.group(2)
        return None

    def message_ref(self, platform: Platform, text: str) -> NativeId | None:
        traits = self._traits.get(platform)
        if traits is None or traits.parse_message_ref is None:
            return None
        return traits.parse_message_ref(text)
