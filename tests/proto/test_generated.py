"""The committed *_pb2 modules are exactly what generate.py produces from the .proto files."""

from __future__ import annotations

from pathlib import Path

from bridge.proto.generate import PROTO_DIR, generate, proto_files


def test_regenerating_yields_identical_files(tmp_path: Path) -> None:
    produced = generate(tmp_path)
    names = sorted(p.name for p in produced)
    expected = sorted(f"{p.stem}_pb2{suffix}" for p in proto_files() for suffix in (".py", ".pyi"))
    assert names == expected
    for fresh in produced:
        committed = PROTO_DIR / fresh.name
        assert committed.read_bytes() == fresh.read_bytes(), f"{fresh.name} is stale: regenerate"


def test_no_orphaned_generated_modules() -> None:
    stems = {p.stem for p in proto_files()}
    for generated in PROTO_DIR.glob("*_pb2.py*"):
        assert generated.name.split("_pb2")[0] in stems, f"{generated.name} has no .proto"
