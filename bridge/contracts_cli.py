"""``parley contracts deploy``: deploy Parley's contracts and record their addresses.

TipJar and Feed go into ``[chain]`` (``tipjar``, ``feed_contract``); the community points pair
(``--only points``, or by default once ``[points] rooms`` is set) into ``[points]``: a
``CommunityPoints`` ERC-20 unless ``[points] token`` already names the community's own token
(then only the distributor is deployed), and a ``PointsDistributor`` owned by the deployer,
which must be the key that publishes the roots: the bridge identity key (the default).

The deployer is the bridge's identity key (unlocked as for ``parley run``) unless the operator
gives another one (``--key-file`` with a 0x-hex private key, or ``PARLEY_DEPLOYER_KEY``). The
addresses are written into the config file's ``[chain]`` section with a minimal text edit: the
``tipjar`` / ``feed_contract`` lines are replaced (or uncommented, or added after the section
header); every other byte of the operator's file is kept. The result is re-read and checked
before it replaces the file atomically.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge.config import default_config_path
from bridge.keyfile import write_private_file

if TYPE_CHECKING:
    from bridge.config import Settings

__all__ = ["DEPLOYER_KEY_ENV", "add_arguments", "run", "set_chain_keys", "set_section_keys"]

DEPLOYER_KEY_ENV = "PARLEY_DEPLOYER_KEY"
_CONTRACTS = {"tipjar": "TipJar", "feed_contract": "Feed"}
_POINTS = "points"
DEFAULT_POINTS_SUPPLY = 1_000_000


def add_arguments(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``contracts deploy`` to the ``parley`` sub-command parsers; returns the deploy parser
    (the caller sets ``func``)."""
    contracts = subparsers.add_parser("contracts", help="deploy Parley's contracts")
    actions = contracts.add_subparsers(dest="contracts_command", required=True, metavar="ACTION")
    deploy: argparse.ArgumentParser = actions.add_parser(
        "deploy",
        help="deploy TipJar and Feed and write their addresses into the config's [chain]",
    )
    deploy.add_argument(
        "--config",
        type=Path,
        default=default_config_path(),
        help="the config file (default: $PARLEY_CONFIG or ./config.toml)",
    )
    deploy.add_argument(
        "--key-file",
        type=Path,
        default=None,
        help=f"a file holding the deployer's 0x-hex private key (or set ${DEPLOYER_KEY_ENV}); "
        "default: the bridge identity key",
    )
    deploy.add_argument(
        "--only",
        choices=sorted([*_CONTRACTS, _POINTS]),
        action="append",
        default=None,
        help="deploy only this contract (repeatable); points = CommunityPoints (unless "
        "[points] token is set) + PointsDistributor",
    )
    deploy.add_argument(
        "--points-supply",
        type=int,
        default=DEFAULT_POINTS_SUPPLY,
        help="whole CommunityPoints tokens minted to the deployer (default: %(default)s)",
    )
    return deploy


def _deployer_key(args: argparse.Namespace, settings: Settings) -> bytes:
    text: str | None = None
    if args.key_file is not None:
        text = Path(args.key_file).read_text("utf-8").strip()
    elif os.environ.get(DEPLOYER_KEY_ENV):
        text = os.environ[DEPLOYER_KEY_ENV].strip()
    if text is None:
        from bridge.keyfile import load_identity_key

        return load_identity_key(settings)
    if not re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", text):
        raise ValueError("the deployer key must be 32 bytes of hex")
    return bytes.fromhex(text.removeprefix("0x"))


def set_chain_keys(text: str, values: dict[str, str]) -> str:
    """Set ``key = "value"`` in ``[chain]`` of a TOML document, touching nothing else."""
    return set_section_keys(text, "chain", values)


def set_section_keys(text: str, section: str, values: dict[str, str]) -> str:
    """Set ``key = "value"`` in ``[section]`` of a TOML document, touching nothing else."""
    header = re.search(rf"^\[{re.escape(section)}\][ \t]*(?:#.*)?$", text, re.MULTILINE)
    if header is None:
        lines = "".join(f'{key} = "{value}"\n' for key, value in values.items())
        separator = (
            "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        )
        return f"{text}{separator}[{section}]\n{lines}"
    after = text[header.end() :]
    end = re.search(r"^[ \t]*\[", after, re.MULTILINE)
    body = after[: end.start()] if end else after
    rest = after[end.start() :] if end else ""
    for key, value in values.items():
        line = f'{key} = "{value}"'
        pattern = re.compile(rf"^[ \t]*{re.escape(key)}[ \t]*=.*$", re.MULTILINE)
        if pattern.search(body):
            body = pattern.sub(lambda _m: line, body, count=1)  # noqa: B023
            continue
        commented = re.compile(rf"^[ \t]*#[ \t]*{re.escape(key)}[ \t]*=.*$", re.MULTILINE)
        if commented.search(body):
            body = commented.sub(lambda _m: line, body, count=1)  # noqa: B023
            continue
        body = (
            "\n" + line + body if body.startswith("\n") or not body else "\n" + line + "\n" + body
        )
    return text[: header.end()] + body + rest


def _write_config(path: Path, written: dict[str, str], section: str = "chain") -> bool:
    original = path.read_text("utf-8")
    updated = set_section_keys(original, section, written)
    parsed = tomllib.loads(updated).get(section, {})
    if any(parsed.get(k) != v for k, v in written.items()):
        print(f"error: could not update [{section}] in the config; add by hand:", file=sys.stderr)
        for k, v in written.items():
            print(f'  {k} = "{v}"', file=sys.stderr)
        return False
    write_private_file(path, updated, overwrite=True)
    return True


async def run(args: argparse.Namespace, settings: Settings) -> int:
    """Deploy and record; 0 on success, 1 on an operational failure (printed)."""
    chain = settings.chain
    if chain.rpc_url is None:
        print("error: [chain] rpc_url is not set: nothing to deploy to", file=sys.stderr)
        return 1
    try:
        key = _deployer_key(args, settings)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    from eth_account import Account
    from web3 import AsyncHTTPProvider, AsyncWeb3

    from contracts import deploy

    deployer = Account.from_key(key).address
    w3: AsyncWeb3[Any] = AsyncWeb3(AsyncHTTPProvider(chain.rpc_url))
    written: dict[str, str] = {}
    points_written: dict[str, str] = {}
    wanted = list(args.only or sorted(_CONTRACTS, reverse=True))
    if args.only is None and settings.points.enabled:
        wanted.append(_POINTS)
    try:
        chain_id = await w3.eth.chain_id
        if chain_id != chain.chain_id:
            print(
                f"error: the RPC serves chain {chain_id}, but chain.chain_id is {chain.chain_id}",
                file=sys.stderr,
            )
            return 1
        for key_name in wanted:
            if key_name == _POINTS:
                await _deploy_points(w3, settings, key, deployer, args, points_written)
                continue
            name = _CONTRACTS[key_name]
            print(f"Deploying {name} from {deployer} on chain {chain_id} ...", flush=True)
            address = await deploy(w3, name, private_key=key)
            print(f"{name}: {address}", flush=True)
            written[key_name] = str(address)
    except Exception as exc:
        print(f"error: deploying failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        if not written and not points_written:
            return 1
    finally:
        await w3.provider.disconnect()
    if written:
        if not _write_config(args.config, written):
            return 1
        print(f"Wrote {', '.join(written)} into [chain] of {args.config}")
    if points_written:
        if not _write_config(args.config, points_written, "points"):
            return 1
        print(f"Wrote {', '.join(points_written)} into [points] of {args.config}")
    done = len(written) + (1 if "distributor" in points_written else 0)
    return 0 if done == len(wanted) else 1


async def _deploy_points(
    w3: Any,
    settings: Settings,
    key: bytes,
    deployer: str,
    args: argparse.Namespace,
    written: dict[str, str],
) -> None:
    """CommunityPoints (unless the config names a token) and a PointsDistributor for it."""
    from contracts import deploy

    points = settings.points
    token = points.token
    if token is None:
        supply = int(args.points_supply) * 10**points.token_decimals
        if points.token_decimals != 18:
            raise ValueError("CommunityPoints has 18 decimals: set [points] token_decimals = 18")
        print(f"Deploying CommunityPoints from {deployer} ...", flush=True)
        name = f"{settings.bridge.name} Points"
        token = str(
            await deploy(w3, "CommunityPoints", name, "POINTS", deployer, supply, private_key=key)
        )
        print(f"CommunityPoints: {token} ({args.points_supply} POINTS to {deployer})", flush=True)
        written["token"] = token
    print(f"Deploying PointsDistributor for {token}, owned by {deployer} ...", flush=True)
    distributor = await deploy(w3, "PointsDistributor", token, deployer, private_key=key)
    print(f"PointsDistributor: {distributor}", flush=True)
    written["distributor"] = str(distributor)
