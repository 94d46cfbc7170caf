"""Regenerate bridge/proto/*_pb2.py and their mypy stubs from the .proto files beside them.

Run ``.venv/bin/python -m bridge.proto.generate`` after editing a .proto file. It uses
grpcio-tools' bundled protoc and the mypy-protobuf plugin installed in the same environment, so
output depends only on the pinned versions of those two packages.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["PROTO_DIR", "ProtocError", "generate", "main", "proto_files"]

PROTO_DIR = Path(__file__).resolve().parent
# Protos are compiled relative to the repository root so that descriptors are named
# "bridge/proto/x.proto" and generated imports would be package-absolute.
_ROOT = PROTO_DIR.parent.parent


class ProtocError(RuntimeError):
    """protoc exited with an error (its own message went to stderr)."""


def proto_files() -> list[Path]:
    return sorted(PROTO_DIR.glob("*.proto"))


def _mypy_plugin() -> Path:
    # The plugin is a console script installed next to the interpreter by mypy-protobuf.
    name = "protoc-gen-mypy.exe" if sys.platform == "win32" else "protoc-gen-mypy"
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return candidate
    found = shutil.which(name)
    if found is None:
        raise ProtocError("protoc-gen-mypy not found: install mypy-protobuf")
    return Path(found)


def generate(out_dir: Path) -> list[Path]:
    """Compile every .proto into ``out_dir`` (flat); return the generated files, sorted."""
    from grpc_tools import protoc  # type: ignore[import-untyped]

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "protoc",
            f"--proto_path={_ROOT}",
            f"--plugin=protoc-gen-mypy={_mypy_plugin()}",
            f"--python_out={tmp}",
            f"--mypy_out={tmp}",
            *(str(p.relative_to(_ROOT)) for p in proto_files()),
        ]
        code = protoc.main(args)
        if code != 0:
            raise ProtocError(f"protoc failed with exit code {code}")
        produced = Path(tmp) / PROTO_DIR.relative_to(_ROOT)
        written = []
        for src in sorted(produced.glob("*_pb2.py*")):
            dst = out_dir / src.name
            shutil.copyfile(src, dst)
            written.append(dst)
    return written


def main() -> int:
    for path in generate(PROTO_DIR):
        print(path.relative_to(_ROOT))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
