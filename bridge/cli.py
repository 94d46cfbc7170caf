"""The ``parley`` command: init, run, check, keys, feed, contracts deploy.

Exit status: 0 success; 1 an operational failure (a file exists, a service is unreachable, the
key does not unlock); 2 the configuration (or the command line) is invalid.

Startup stays fast: heavy modules (the bridge runtime, aiohttp, the chat SDKs, web3) are
imported inside the command that needs them, never at import time.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import getpass
import logging
import os
import re
import signal
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bridge.config import ConfigError, Settings, default_config_path, load_config
from bridge.datadir import ensure_private_dir, permission_warnings
from bridge.keyfile import (
    KeyfileError,
    generate_passphrase,
    keystore_address,
    load_identity_key,
    read_keystore,
    write_keystore,
    write_private_file,
)

if TYPE_CHECKING:
    from bridge.app import Bridge
    from bridge.platforms import PlatformSpec

__all__ = ["main"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INVALID = 2

PASSPHRASE_ENV = "PARLEY_KEY_PASSPHRASE"  # noqa: S105 (a variable name, not a secret)
CHECK_TIMEOUT = 3.0


class CliError(Exception):
    """A failure the user can act on; printed as ``error: <message>`` with exit status 1."""


def main(argv: Sequence[str] | None = None, *, platforms: Sequence[PlatformSpec] = ()) -> int:
    """``platforms``: the registered platforms (``bots.registry``, passed by ``bots.cli``)."""
    parser = _parser(platforms)
    args = parser.parse_args(argv)
    try:
        status: int = args.func(args)
    except ConfigError as exc:
        _print_problems(exc, sys.stderr)
        return EXIT_INVALID
    except (CliError, KeyfileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_FAILURE
    return status


def _parser(platforms: Sequence[PlatformSpec] = ()) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parley", description="Bridge chat platforms with each other and Waku / Status."
    )
    parser.add_argument("--version", action="version", version=f"parley {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def with_config(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--config",
            type=Path,
            default=default_config_path(),
            help="the config file (default: $PARLEY_CONFIG or ./config.toml)",
        )

    init = commands.add_parser(
        "init", help="write a config file and a new encrypted bridge identity key"
    )
    init.add_argument("--dir", type=Path, required=True, help="directory to create them in")
    init.add_argument("--force", action="store_true", help="overwrite an existing config/key")
    init.add_argument(
        "--scrypt-n",
        type=_scrypt_n,
        default=None,
        help="scrypt work factor for the keystore, a power of two >= 2^14 (default 2^18, "
        "which needs 256 MiB while unlocking; lower it only for small devices)",
    )
    init.set_defaults(func=_cmd_init)

    run = commands.add_parser("run", help="run the bridge until SIGTERM/SIGINT")
    with_config(run)
    run.set_defaults(func=_cmd_run)

    check = commands.add_parser("check", help="validate the config and try each configured service")
    with_config(check)
    check.add_argument("--timeout", type=float, default=CHECK_TIMEOUT, help="seconds per probe")
    check.set_defaults(func=_cmd_check)

    backup = commands.add_parser(
        "backup", help="copy the database consistently, also while the bridge runs"
    )
    with_config(backup)
    backup.add_argument("--to", type=Path, required=True, metavar="FILE", help="the copy")
    backup.add_argument("--force", action="store_true", help="replace an existing FILE")
    backup.set_defaults(func=_cmd_backup)

    keys = commands.add_parser("keys", help="show the bridge identity (public information only)")
    key_commands = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    address = key_commands.add_parser("address", help="print the bridge's Ethereum address")
    with_config(address)
    address.set_defaults(func=_cmd_keys_address)
    show = key_commands.add_parser("show", help="unlock the key and print its public parts")
    with_config(show)
    show.set_defaults(func=_cmd_keys_show)

    from bridge import contracts_cli
    from bridge.feed import cli as feed_cli

    feed_cli.add_arguments(commands)  # parley feed [--follow]
    deploy = contracts_cli.add_arguments(commands)  # parley contracts deploy
    deploy.set_defaults(func=_cmd_contracts_deploy)
    for spec in platforms:
        if spec.add_cli is not None:
            spec.add_cli(commands)  # parley <platform> ...
    parser.set_defaults(platforms=tuple(platforms))
    return parser


def _cmd_contracts_deploy(args: argparse.Namespace) -> int:
    from bridge import contracts_cli

    settings = _load(args)
    status: int = asyncio.run(contracts_cli.run(args, settings))
    return status


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("parley")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def _scrypt_n(text: str) -> int:
    n = int(text)
    if n < 1 << 14 or n & (n - 1):
        raise argparse.ArgumentTypeError("must be a power of two >= 16384")
    return n


def _print_problems(exc: ConfigError, stream: Any) -> None:
    where = f" in {exc.source}" if exc.source is not None else ""
    print(f"invalid configuration{where}:", file=stream)
    for path, message in exc.problems:
        print(f"  {path}: {message}" if path else f"  {message}", file=stream)


def _load(args: argparse.Namespace) -> Settings:
    path: Path = args.config
    if not path.is_file():
        raise CliError(f"no config file at {path} (create one with `parley init --dir DIR`)")
    return load_config(path, platforms=args.platforms)


# --- init ----------------------------------------------------------------------------------


def _example_config() -> str:
    # The example ships inside the package; a source checkout also has it at the top level.
    packaged = resources.files("bridge").joinpath("config.example.toml")
    if packaged.is_file():
        return packaged.read_text("utf-8")
    return (Path(__file__).resolve().parent.parent / "config.example.toml").read_text("utf-8")


def _set_key(text: str, section: str, key: str, value: str) -> str:
    """Set ``key = value`` in ``[section]`` of the example, uncommenting the key if needed."""
    start = re.search(rf"^\[{re.escape(section)}\]\s*$", text, re.MULTILINE)
    if start is None:
        raise RuntimeError(f"the example config has no [{section}]")
    end = re.search(r"^\[", text[start.end() :], re.MULTILINE)
    stop = start.end() + end.start() if end else len(text)
    body, count = re.subn(
        rf"^#? ?{re.escape(key)} = .*$",
        lambda _: f"{key} = {value}",
        text[start.end() : stop],
        count=1,
        flags=re.MULTILINE,
    )
    if count != 1:
        raise RuntimeError(f"the example config has no {section}.{key}")
    return text[: start.end()] + body + text[stop:]


def _init_passphrase(directory: Path, force: bool) -> tuple[SecretStr, Path | None]:
    """The new keystore's passphrase, and the file it was written to (if generated)."""
    from_env = os.environ.get(PASSPHRASE_ENV)
    if from_env:
        return SecretStr(from_env), None
    if sys.stdin.isatty():
        first = getpass.getpass("New passphrase for the bridge identity key: ")
        if not first:
            raise CliError("the passphrase must not be empty")
        if getpass.getpass("Repeat the passphrase: ") != first:
            raise CliError("the passphrases differ")
        return SecretStr(first), None
    path = directory / "passphrase"
    passphrase = generate_passphrase()
    write_private_file(path, passphrase.get_secret_value() + "\n", overwrite=force)
    return passphrase, path


def _cmd_init(args: argparse.Namespace) -> int:
    from crypto.keys import generate_private_key, public_key, to_address

    directory: Path = args.dir.expanduser().resolve()
    config_path = directory / "config.toml"
    keystore_path = directory / "identity.json"
    if not args.force:
        existing = [p for p in (config_path, keystore_path) if p.exists()]
        if existing:
            names = ", ".join(str(p) for p in existing)
            raise CliError(
                f"refusing to overwrite {names}; pass --force to replace "
                "(a replaced identity key changes the bridge's address for good)"
            )
    ensure_private_dir(directory)

    passphrase, passphrase_file = _init_passphrase(directory, args.force)
    private_key = generate_private_key()
    write_keystore(
        keystore_path, private_key, passphrase, overwrite=args.force, scrypt_n=args.scrypt_n
    )

    text = _set_key(_example_config(), "bridge", "data_dir", '"."')
    text = _set_key(text, "identity", "keystore", '"identity.json"')
    if passphrase_file is not None:
        text = _set_key(text, "identity", "passphrase_file", '"passphrase"')
    # The config may come to hold tokens: private like the rest of the directory.
    write_private_file(config_path, text, overwrite=True)
    # The written file must load as is (the example might have drifted from the code).
    load_config(config_path, env={}, platforms=args.platforms)

    pub = public_key(private_key)
    print(f"Wrote {config_path}")
    print(f"Wrote {keystore_path} (encrypted identity keystore)")
    print(f"Bridge address:    {to_address(pub)}")
    print(f"Bridge public key: 0x{pub.hex()}")
    if passphrase_file is not None:
        print(
            f"warning: {PASSPHRASE_ENV} was not set and no terminal is attached, so a random "
            f"passphrase was written to {passphrase_file}. Move it into the environment "
            f"({PASSPHRASE_ENV}), delete the file and remove [identity] passphrase_file.",
            file=sys.stderr,
        )
    return EXIT_OK


# --- run -----------------------------------------------------------------------------------


def _cmd_run(args: argparse.Namespace) -> int:
    from bridge.app import run_bridge, setup_logging, wire_features

    settings = _load(args)
    setup_logging(settings.bridge.log_level, secrets=settings.secrets())
    for warning in permission_warnings(settings, args.config.resolve()):
        logging.getLogger("bridge.cli").warning(warning)
    identity_key = load_identity_key(settings)

    def ready(bridge: Bridge) -> None:
        if bridge.waku_rest is not None:
            print(f"Waku REST API listening on {bridge.waku_rest.url}", flush=True)
        else:
            print(f"Waku node: nwaku REST API at {settings.waku.nwaku_url}", flush=True)
        if bridge.web is not None:
            print(f"Web server listening on {bridge.web.url}", flush=True)

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        wire = functools.partial(wire_features, platforms=args.platforms)
        await run_bridge(settings, identity_key, stop=stop, on_ready=ready, wire=wire)

    import sqlite3

    from bridge.store import StoreError

    try:
        asyncio.run(serve())
    except (OSError, StoreError) as exc:
        # Typically a port already in use (the message names the address), a database
        # written by a newer Parley, or a damaged one.
        raise CliError(f"cannot start the bridge: {exc}") from None
    except sqlite3.DatabaseError as exc:
        raise CliError(
            f"the database {settings.store_path} failed: {exc} "
            "(if it is damaged, restore a backup: README, Backup and restore)"
        ) from None
    print("Stopped.", flush=True)
    return EXIT_OK


# --- backup --------------------------------------------------------------------------------


def _cmd_backup(args: argparse.Namespace) -> int:
    from bridge.store import StoreError
    from bridge.store.backup import backup_database

    settings = _load(args)
    try:
        result = backup_database(settings.store_path, args.to, overwrite=args.force)
    except StoreError as exc:
        raise CliError(str(exc)) from None
    print(
        f"Backed up {settings.store_path} to {result.path} "
        f"({result.size} bytes, schema version {result.schema_version})"
    )
    return EXIT_OK


# --- check ---------------------------------------------------------------------------------


def _cmd_check(args: argparse.Namespace) -> int:
    path: Path = args.config
    if not path.is_file():
        raise CliError(f"no config file at {path}")
    try:
        settings = load_config(path, platforms=args.platforms)
    except ConfigError as exc:
        _print_problems(exc, sys.stdout)
        return EXIT_INVALID
    print(f"Configuration OK: {path}")
    results = asyncio.run(_probe_all(settings, args.timeout, args.platforms))
    width = max((len(name) for name, _, _ in results), default=0)
    for name, ok, detail in results:
        print(f"  {name.ljust(width)}  {'reachable' if ok else 'UNREACHABLE'}  {detail}")
    for line in _community_lines(settings):
        print(f"  Status community {line}")
    failed = [name for name, ok, _ in results if not ok]
    if failed:
        print(f"{len(failed)} of {len(results)} check(s) failed: {', '.join(failed)}")
        return EXIT_FAILURE
    print(f"All {len(results)} check(s) passed.")
    return EXIT_OK


def _community_lines(settings: Settings) -> list[str]:
    rooms = [r for r in settings.rooms if r.status_ref is not None]
    if not rooms:
        return []
    from bridge.waku.community import community_room
    from bridge.waku.community_report import stored_states

    try:
        address = keystore_address(read_keystore(settings.keystore_path)) or ""
    except (OSError, ValueError):
        address = ""
    configs = {}
    for room in rooms:
        ref = room.status_ref
        assert ref is not None
        configs[room.name] = community_room(ref, room.status_channel, room.waku_pubsub_topic)
    return stored_states(settings.store_path, configs, address.lower())


async def _probe_all(
    settings: Settings, seconds: float, platforms: Sequence[PlatformSpec] = ()
) -> list[tuple[str, bool, str]]:
    import aiohttp

    # Here, not at the top: they load the store and the outbox, which `parley --help` skips.
    from bridge.platform_index import PlatformIndex

    secrets = settings.secrets()

    def scrub(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    async def probe(name: str, coro: Any) -> tuple[str, bool, str]:
        try:
            ok, detail = await coro
        except TimeoutError:
            return name, False, f"no answer within {seconds:g}s"
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return name, False, scrub(f"{type(exc).__name__}: {exc}")
        return name, ok, scrub(detail)

    client_timeout = aiohttp.ClientTimeout(total=seconds)
    async with aiohttp.ClientSession(timeout=client_timeout) as http:
        probes = [probe("identity", _check_keystore(settings))]
        waku = settings.waku
        if waku.mode == "nwaku" and waku.nwaku_url is not None:
            probes.append(probe("waku", _check_nwaku(http, waku.nwaku_url)))
        if settings.chain.rpc_url is not None:
            probes.append(probe("chain", _check_chain(http, settings)))
        for traits in PlatformIndex.of(platforms).traits:
            enabled = traits.enabled is not None and traits.enabled(settings)
            if traits.probe is not None and enabled:
                probes.append(probe(traits.name, traits.probe(settings, http)))
        return list(await asyncio.gather(*probes))


async def _check_keystore(settings: Settings) -> tuple[bool, str]:
    keystore = read_keystore(settings.keystore_path)
    address = keystore_address(keystore) or "address not declared"
    return True, f"{settings.keystore_path} ({address})"


async def _check_nwaku(http: Any, base_url: str) -> tuple[bool, str]:
    async with http.get(f"{base_url}/health") as response:
        if response.status != 200:
            return False, f"{base_url}/health answered HTTP {response.status}"
        body = await response.json(content_type=None)
    node_health = body.get("nodeHealth", "?") if isinstance(body, dict) else "?"
    return True, f"{base_url} (nodeHealth {node_health})"


async def _check_chain(http: Any, settings: Settings) -> tuple[bool, str]:
    url = settings.chain.rpc_url
    request = {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}
    async with http.post(url, json=request) as response:
        if response.status != 200:
            return False, f"eth_chainId answered HTTP {response.status}"
        body = await response.json(content_type=None)
    result = body.get("result") if isinstance(body, dict) else None
    if not isinstance(result, str):
        return False, f"eth_chainId gave no result: {str(body)[:200]}"
    chain_id = int(result, 16)
    if chain_id != settings.chain.chain_id:
        return False, f"chain id {chain_id}, but chain.chain_id is {settings.chain.chain_id}"
    return True, f"chain id {chain_id}"


# --- keys ----------------------------------------------------------------------------------


def _cmd_keys_address(args: argparse.Namespace) -> int:
    settings = _load(args)
    address = keystore_address(read_keystore(settings.keystore_path))
    if address is None:
        # Some keystores omit the clear-text address; derive it from the key itself.
        from crypto.keys import public_key, to_address

        address = to_address(public_key(load_identity_key(settings)))
    print(address)
    return EXIT_OK


def _cmd_keys_show(args: argparse.Namespace) -> int:
    from crypto.keys import public_key, to_address

    settings = _load(args)
    private_key = load_identity_key(settings)
    pub = public_key(private_key)
    print(f"keystore:              {settings.keystore_path}")
    print(f"address:               {to_address(pub)}")
    print(f"public key:            0x{pub.hex()}")
    print(f"public key (compact):  0x{public_key(private_key, compressed=True).hex()}")
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
