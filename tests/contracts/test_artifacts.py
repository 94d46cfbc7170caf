"""The committed artifacts: loadable from Python, deployed code matches, and no drift.

The drift check runs the real build (node + solcjs, ~5-10 s), so `make test` catches a contract
edited without rebuilding its artifact.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import contracts
from contracts import Artifact, artifact_names, deploy, load_artifact
from tests.chain.anvil import REPO, Anvil

if TYPE_CHECKING:
    from web3 import AsyncWeb3

ARTIFACTS = REPO / "contracts" / "artifacts"
BUILD = REPO / "contracts" / "build.mjs"
SOURCES = sorted((REPO / "contracts").rglob("*.sol"))
EXPECTED = {
    "CommunityPoints",
    "FeeOnTransferERC20",
    "Feed",
    "NoERC165",
    "PointsDistributor",
    "ReentrantAttacker",
    "ReentrantERC20",
    "RevertingReceiver",
    "RevertingTokenURI",
    "TestERC1155",
    "TestERC20",
    "TestERC721",
    "TestUniversalResolver",
    "TestWallet1271",
    "TipJar",
}


def test_every_contract_has_an_artifact() -> None:
    declared = {
        m
        for source in SOURCES
        for m in re.findall(r"^contract (\w+)", source.read_text(), flags=re.MULTILINE)
    }
    assert declared == EXPECTED
    assert set(artifact_names()) == EXPECTED


def test_load_artifact() -> None:
    tipjar = load_artifact("TipJar")
    assert isinstance(tipjar, Artifact)
    assert tipjar.name == "TipJar"
    assert tipjar.source_name == "contracts/TipJar.sol"
    assert tipjar.compiler.startswith("0.8.37+")
    assert re.fullmatch(r"0x[0-9a-f]+", tipjar.bytecode)
    assert {e["name"] for e in tipjar.abi if e["type"] == "function"} == {"tipETH", "tipToken"}
    assert [e["name"] for e in tipjar.abi if e["type"] == "event"] == ["Tipped"]
    assert load_artifact("TipJar") is tipjar  # cached


@pytest.mark.parametrize("name", ["Nope", "../artifacts/TipJar", "TipJar.json", ""])
def test_unknown_artifacts_raise_key_error(name: str) -> None:
    with pytest.raises(KeyError):
        load_artifact(name)


def test_artifacts_are_canonical_json() -> None:
    for path in sorted(ARTIFACTS.glob("*.json")):
        text = path.read_text()
        data: dict[str, Any] = json.loads(text)
        assert text == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n", path
        assert data["settings"] == {
            "evmVersion": "cancun",
            "metadata": {"bytecodeHash": "none"},
            "optimizer": {"enabled": True, "runs": 200},
            "remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
        }
        assert data["sourceName"] in data["sources"]


def test_importing_contracts_does_not_import_web3() -> None:
    code = "import sys, contracts; contracts.load_artifact('Feed'); print('web3' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"
    assert contracts.__name__ == "contracts"


@pytest.mark.chain
@pytest.mark.parametrize("name", ["TipJar", "Feed"])
async def test_deployed_code_is_the_artifacts(w3: AsyncWeb3[Any], anvil: Anvil, name: str) -> None:
    address = await deploy(w3, name, private_key=anvil.private_keys[0])
    code = await w3.eth.get_code(address)
    assert code.to_0x_hex() == load_artifact(name).deployed_bytecode


def _node() -> str:
    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is missing: the contract build check needs Node 20")
    return node


@pytest.mark.node
def test_committed_artifacts_match_a_fresh_build(tmp_path: Path) -> None:
    # One real build into a scratch directory: byte-identical to what is committed ...
    built = subprocess.run(
        [_node(), str(BUILD), "--out", str(tmp_path)], cwd=tmp_path, capture_output=True, text=True
    )
    assert built.returncode == 0, built.stderr
    drift = sorted(
        p.name
        for p in ARTIFACTS.glob("*.json")
        if not (tmp_path / p.name).exists() or (tmp_path / p.name).read_bytes() != p.read_bytes()
    )
    assert drift == [], f"run `node contracts/build.mjs` and commit: {drift}"
    assert {p.name for p in tmp_path.iterdir()} == {p.name for p in ARTIFACTS.glob("*.json")}

    # ... and --check names a changed, a missing and an extra artifact.
    feed = tmp_path / "Feed.json"
    feed.write_text(feed.read_text().replace('"runs": 200', '"runs": 201'))
    (tmp_path / "TipJar.json").unlink()
    (tmp_path / "Stale.json").write_text("{}\n")
    checked = subprocess.run(
        [_node(), str(BUILD), "--check", "--out", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 1
    assert "differs: " in checked.stderr and "/Feed.json" in checked.stderr
    assert "missing: " in checked.stderr and "/TipJar.json" in checked.stderr
    assert "extra: " in checked.stderr and "/Stale.json" in checked.stderr
