"""The README tells the truth about the code (issue 8, item 14: a newcomer followed it)."""

from __future__ import annotations

import re
import typing
from typing import Any

from pydantic import BaseModel

from bots.registry import PLATFORMS
from bridge.config import AvatarSettings, settings_model
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def _model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
        for inner in typing.get_args(candidate):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def _config_table() -> dict[str, str]:
    start = README.index("| section | keys (defaults) |")
    table = README[start : README.index("\n\n", start)]
    rows: dict[str, str] = {}
    for line in table.splitlines()[2:]:
        cells = re.split(r"(?<!\\)\|", line)
        rows[cells[1].strip()] = cells[2]
    return rows


def test_the_configuration_table_lists_every_key() -> None:
    rows = _config_table()
    missing: list[str] = []
    for section, field in settings_model(PLATFORMS).model_fields.items():
        model = _model(field.annotation)
        assert model is not None, section
        header = f"`[[{section}]]`" if section == "rooms" else f"`[{section}]`"
        row = next((cells for name, cells in rows.items() if header in name), None)
        if row is None:
            missing.append(header)
            continue
        missing += [f"{section}.{key}" for key in model.model_fields if f"`{key}`" not in row]
    assert missing == []


def test_documented_defaults_match_the_code() -> None:
    mib = AvatarSettings.model_fields["max_image_bytes"].default // (1024 * 1024)
    assert f"`max_image_bytes` ({mib} MiB)" in README
    assert f"`max_image_bytes` ({mib} MiB by default)" in README
    assert not re.search(r"images at \d+ MiB", README)


def test_the_log_line_that_names_chat_ids_is_the_one_the_router_writes() -> None:
    router = (REPO / "bridge" / "router.py").read_text()
    assert 'log.info("ignoring %s: the chat is in no room", event.source)' in router
    assert 'msg="ignoring telegram:-1001234567890: the chat is in no room"' in README
    assert 'msg="ignoring discord:112233445566778899: the chat is in no room"' in README


def test_every_make_target_the_readme_names_exists() -> None:
    makefile = (REPO / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z0-9-]*):", makefile, re.MULTILINE))
    named = set(re.findall(r"`make ([a-z][a-z0-9-]*)", README))
    assert {"bench", "bench-relay", "bench-fakes", "bench-watcher", "vectors"} <= named
    assert named <= targets, named - targets
