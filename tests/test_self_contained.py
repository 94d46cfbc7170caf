"""The repository is self-contained: nothing tracked points at files outside it.

A fresh clone has nothing beside it (issue 8: ``make test`` died collecting tests that read the
js-waku vectors from a folder next to the repository), and a document cited by name must exist
in the repository.
"""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO

# Names of design documents that once lived outside the repository.
_DOC_NAMES = ("PROTOCOL", "DESIGN", "TESTING", "CHAIN", "STYLE")
_OUTSIDE = re.compile(r"\.\./shared|/work/shared|\bshared/(vectors|docs)\b")
_DOC = re.compile(r"(?<![\w/])(?:(docs)/)?(" + "|".join(_DOC_NAMES) + r")\.md")


def _tracked_texts() -> dict[str, str]:
    files = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    texts: dict[str, str] = {}
    for name in filter(None, (f.decode() for f in files)):
        path = REPO / name
        if not path.is_file():
            continue  # deleted in the work tree but not yet from the index
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue
        texts[name] = data.decode("utf-8", errors="replace")
    return texts


def test_no_tracked_file_reaches_outside_the_repository() -> None:
    texts = _tracked_texts()
    me = "tests/test_self_contained.py"
    offenders = [
        f"{name}:{n}: {line.strip()}"
        for name, text in texts.items()
        if name != me
        for n, line in enumerate(text.splitlines(), 1)
        if _OUTSIDE.search(line)
    ]
    assert not offenders, "\n".join(offenders)


def test_cited_design_documents_exist_in_the_repository() -> None:
    texts = _tracked_texts()
    missing = [
        f"{name}:{n}: {m.group(0)}"
        for name, text in texts.items()
        if name != "tests/test_self_contained.py"
        for n, line in enumerate(text.splitlines(), 1)
        for m in _DOC.finditer(line)
        if f"docs/{m.group(2)}.md" not in texts or m.group(1) is None
    ]
    assert not missing, "cite documents as docs/NAME.md and keep them in the repository:\n" + (
        "\n".join(missing)
    )


def test_protocol_sections_cited_exist() -> None:
    texts = _tracked_texts()
    headings = set(re.findall(r"^#+ (\d+(?:\.\d+)*)\.? ", texts["docs/PROTOCOL.md"], re.M))
    cited = {
        (name, sec)
        for name, text in texts.items()
        for m in re.finditer(r"PROTOCOL\.md[` ]*§\s*(\d+(?:\.\d+)?)", text)
        for sec in [m.group(1)]
    }
    assert cited, "no citations found: the pattern is wrong"
    unknown = sorted((n, s) for n, s in cited if s not in headings)
    assert not unknown, unknown
