"""Regenerate tests/fakes/status_proto/*_pb2.py(i) from the vendored status-go .proto files.

Run ``.venv/bin/python -m tests.fakes.status_proto.generate``. The .proto files are status-go's,
byte for byte, so they import each other by bare file name and share status-go's package names
(``protobuf``, ``encryption``) with Parley's own protos in bridge/proto. Two rewrites keep them
apart: imports become package-absolute, and every file registers in this package's own
descriptor pool (``_pool.POOL``) instead of protobuf's default one, where ``protobuf.ChatMessage``
already exists as Parley's.
"""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
PACKAGE = "tests.fakes.status_proto"


def _mypy_plugin() -> Path:
    candidate = Path(sys.executable).parent / "protoc-gen-mypy"
    if candidate.exists():
        return candidate
    found = shutil.which("protoc-gen-mypy")
    if found is None:
        raise RuntimeError("protoc-gen-mypy not found: install mypy-protobuf")
    return Path(found)


def _rewrite(text: str, stub: bool) -> str:
    text = re.sub(
        r"^import (\w+_pb2)( as \w+)?$",
        lambda m: f"from {PACKAGE} import {m.group(1)}{m.group(2) or ''}",
        text,
        flags=re.MULTILINE,
    )
    if not stub:
        text = text.replace(
            "from google.protobuf import descriptor_pool as _descriptor_pool\n",
            f"from {PACKAGE}._pool import POOL as _POOL\n",
        )
        text = text.replace("_descriptor_pool.Default()", "_POOL")
    return text


def generate(out_dir: Path = HERE) -> list[Path]:
    from grpc_tools import protoc  # type: ignore[import-untyped]

    protos = sorted(p.name for p in HERE.glob("*.proto"))
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        code = protoc.main(
            [
                "protoc",
                f"--proto_path={HERE}",
                f"--plugin=protoc-gen-mypy={_mypy_plugin()}",
                f"--python_out={tmp}",
                f"--mypy_out={tmp}",
                *protos,
            ]
        )
        if code != 0:
            raise RuntimeError(f"protoc failed with exit code {code}")
        for src in sorted(Path(tmp).glob("*_pb2.py*")):
            dst = out_dir / src.name
            dst.write_text(_rewrite(src.read_text(), stub=src.suffix == ".pyi"))
            written.append(dst)
    return written


if __name__ == "__main__":
    for path in generate():
        print(path.name)
