"""``parley feed [--follow]``: print the public feed from the configured Waku node.

It reads the node's store (history) over the nwaku REST API — the real nwaku's, or the one the
embedded node serves on ``waku.rest_host:rest_port`` while the bridge runs — and with
``--follow`` keeps printing new entries. Only entries signed by the trusted bridge key(s) are
shown (default: this bridge's address from its keystore; ``--signer`` adds or replaces it);
``--all`` also shows the others, marked UNVERIFIED. Tombstoned posts are hidden. With
``chain.rpc_url`` and ``chain.feed_contract`` set, anchors are checked against the chain.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from bridge.config import default_config_path

if TYPE_CHECKING:
    from bridge.feed.entry import AnchorEvent, Entry
    from bridge.feed.record import SignedRecord

__all__ = ["add_arguments", "format_entry", "run"]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _address(text: str) -> str:
    if not _ADDRESS.match(text):
        raise argparse.ArgumentTypeError("must be a 0x-prefixed 20-byte address")
    return text


def add_arguments(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``feed`` to ``parley``'s sub-commands (``subparsers`` from ``add_subparsers``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "feed", help="print the public feed (verified entries, newest first)"
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=default_config_path(),
        help="the config file (default: $PARLEY_CONFIG or ./config.toml)",
    )
    parser.add_argument("--follow", action="store_true", help="keep printing new entries")
    parser.add_argument(
        "--signer",
        action="append",
        type=_address,
        default=[],
        help="trust entries signed by this address (repeatable; default: the bridge's own)",
    )
    parser.add_argument(
        "--all", action="store_true", help="also show untrusted entries, marked UNVERIFIED"
    )
    parser.add_argument("--limit", type=int, default=50, help="entries to print (default 50)")
    parser.set_defaults(func=_main)
    return parser


def _main(args: argparse.Namespace) -> int:
    from bridge.config import load_config

    if not args.config.is_file():
        print(f"error: no config file at {args.config}", file=sys.stderr)
        return 1
    return asyncio.run(run(args, load_config(args.config, platforms=args.platforms)))


def _trusted(args: argparse.Namespace, settings: Any) -> list[str]:
    if args.signer:
        return list(args.signer)
    from bridge.keyfile import keystore_address, read_keystore

    try:
        address = keystore_address(read_keystore(settings.keystore_path))
    except Exception:
        address = None
    return [address] if address else []


def _node_url(settings: Any) -> str:
    waku = settings.waku
    if waku.mode == "nwaku" and waku.nwaku_url:
        return str(waku.nwaku_url)
    host = f"[{waku.rest_host}]" if ":" in waku.rest_host else waku.rest_host
    return f"http://{host}:{waku.rest_port}"


def format_entry(entry: Entry, anchor_status: str) -> str:
    from bridge.feed.record import rfc3339

    author = entry.author
    who = f"{author.get('name', '?')} ({author.get('platform', '?')}:{author.get('user_id', '?')})"
    lines = [f"{rfc3339(entry.created_at)}  {who}" + ("" if entry.trusted else "  [UNVERIFIED]")]
    if "wallet" in author:
        ens = f" ({author['ens']})" if "ens" in author else ""
        lines.append(f"  wallet: {author['wallet']}{ens}")
    avatar = author.get("avatar")
    if isinstance(avatar, dict):
        verified = "verified" if avatar.get("verified") else "unverified"
        caip = f" {avatar['caip19']}" if "caip19" in avatar else ""
        lines.append(f"  avatar: {avatar.get('url')}{caip} ({verified})")
    for line in entry.text.splitlines() or [""]:
        # Terminal escapes in someone's text must not reach the terminal.
        lines.append("  | " + "".join(c if c.isprintable() else "�" for c in line))
    lines.append(f"  cid: {entry.cid}  signer: {entry.signed.signer}")
    lines.append(f"  anchor: {anchor_status}")
    return "\n".join(lines)


async def _anchor_statuses(entries: list[Entry], settings: Any) -> dict[str, str]:
    statuses: dict[str, str] = {}
    anchored = [e for e in entries if e.anchor is not None]
    for entry in entries:
        statuses[entry.cid] = "none"
    if not anchored:
        return statuses
    chain = settings.chain
    if chain.rpc_url is None or chain.feed_contract is None:
        for e in anchored:
            assert e.anchor is not None
            statuses[e.cid] = f"{e.anchor.kind}, block {e.anchor.block} (not checked: no chain)"
        return statuses
    from bridge.feed.anchor import fetch_events, open_web3
    from bridge.feed.entry import verify_entry

    w3 = open_web3(chain.rpc_url)
    try:
        events: list[AnchorEvent] = []
        for contract in {e.anchor.contract for e in anchored if e.anchor is not None}:
            if contract.lower() != str(chain.feed_contract).lower():
                continue  # only the configured contract is trusted
            blocks = [e.anchor.block for e in anchored if e.anchor is not None]
            events += await fetch_events(w3, contract, blocks)
    finally:
        await w3.provider.disconnect()
    for e in anchored:
        assert e.anchor is not None
        ok = verify_entry(e, events)
        mark = "verified" if ok else "INVALID"
        statuses[e.cid] = f"{mark} ({e.anchor.kind}, block {e.anchor.block}, tx {e.anchor.tx})"
    return statuses


async def run(args: argparse.Namespace, settings: Any, *, out: IO[str] | None = None) -> int:
    """Print the feed; with ``args.follow`` keep following until cancelled."""
    from bridge.feed.entry import fold
    from bridge.feed.feature import feed_pubsub_topic
    from bridge.feed.reader import follow_feed, read_history
    from bridge.waku.node import NodeError
    from bridge.waku.rest_client import NwakuRestClient

    stream = out if out is not None else sys.stdout
    trusted = _trusted(args, settings)
    if not trusted:
        print(
            "error: cannot tell which entries are the bridge's: the keystore declares no "
            "address; pass --signer 0x…",
            file=sys.stderr,
        )
        return 1
    feed_chat = settings.feed.waku_chat
    topic = feed_pubsub_topic(settings)
    node = NwakuRestClient(_node_url(settings), request_timeout=10)
    await node.start()
    try:
        try:
            records = await read_history(node, feed_chat, topic)
        except NodeError as exc:
            print(f"error: cannot read the feed from {_node_url(settings)}: {exc}", file=sys.stderr)
            return 1
        entries = _visible(fold(records, trusted), args.all)[: max(args.limit, 0)]
        statuses = await _anchor_statuses(entries, settings)
        for entry in entries:
            print(format_entry(entry, statuses[entry.cid]), file=stream)
            print(file=stream)
        print(
            f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'} on #{feed_chat}", file=stream
        )
        stream.flush()
        if not args.follow:
            return 0
        shown = {e.cid for e in entries}
        changed = asyncio.Event()

        async def on_record(signed: SignedRecord) -> None:
            records.append(signed)
            changed.set()

        await follow_feed(node, feed_chat, topic, on_record)
        while True:
            await changed.wait()
            changed.clear()
            for entry in reversed(_visible(fold(records, trusted), args.all)):
                if entry.cid in shown:
                    continue
                shown.add(entry.cid)
                status = (await _anchor_statuses([entry], settings))[entry.cid]
                print(format_entry(entry, status), file=stream)
                print(file=stream)
                stream.flush()
    finally:
        await node.stop()


def _visible(entries: list[Entry], show_all: bool) -> list[Entry]:
    # (entries are already folded: tombstones applied)
    return [e for e in entries if not e.tombstoned and (e.trusted or show_all)]
