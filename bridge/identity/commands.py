"""The chat commands of wallet linking and avatars: /link, /unlink, /whois, /avatar.

Handlers are thin: they parse arguments (hostile text), call :class:`LinkService` /
:class:`AvatarService`, and phrase the outcome. The /link reply is always private: it holds a
one-time URL that must never be posted in a group.
"""

from __future__ import annotations

import re

from bridge.commands import (
    CommandOption,
    CommandReply,
    CommandRequest,
    Commands,
    CommandSpec,
    UsageError,
)
from bridge.identity.ens import EnsLookups, verified_name
from bridge.identity.service import TOKEN_TTL, LinkService
from bridge.names import clean_name
from bridge.nft.ownership import parse_caip19
from bridge.nft.service import AvatarError, AvatarService, parse_chain
from bridge.platform_index import PlatformIndex
from bridge.store.links import WalletLink

__all__ = ["IdentityCommands", "register_identity_commands"]

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
# The rest of "platform:rest" (the platform is any of the bridge's: PlatformIndex).
_QUALIFIED_REST = re.compile(r"[A-Za-z0-9_\-.]{1,80}")
_USER_ID = re.compile(r"-?[0-9]{1,20}")
_TOKEN_ID = re.compile(r"[0-9]{1,78}")
_MAX_WALLETS_SHOWN = 10


def _one_line(text: str, limit: int = 64) -> str:
    """A display name as a single, bounded line (names are chosen by anyone): the one name
    cleaner, so no name here can carry a verified mark of its own."""
    return clean_name(text, limit)


class IdentityCommands:
    """Command handlers bound to the services."""

    def __init__(
        self,
        links: LinkService,
        avatars: AvatarService | None,
        ens: EnsLookups | None = None,
        index: PlatformIndex | None = None,
    ) -> None:
        self._links = links
        self._avatars = avatars
        self._ens = ens
        self._index = index if index is not None else PlatformIndex(())

    def register(self, commands: Commands) -> None:
        commands.register(
            CommandSpec(
                "link",
                "Link an Ethereum wallet to your chat account (you get a private link)",
                private_reply=True,
            ),
            self.link,
        )
        commands.register(
            CommandSpec(
                "unlink",
                "Unlink one wallet, or all of yours",
                "[address]",
                (CommandOption("address", "the wallet to unlink (default: all)", required=False),),
            ),
            self.unlink,
        )
        commands.register(
            CommandSpec(
                "whois",
                "Show someone's linked wallets and verified avatar",
                "[@user | user id | address]",
                (CommandOption("who", "a user, user id or address (default: you)", False),),
            ),
            self.whois,
        )
        if self._avatars is not None:
            commands.register(
                CommandSpec(
                    "avatar",
                    "Use an NFT you own as your avatar (or: /avatar clear, /avatar check)",
                    "<contract> <token id> [chain] | clear | check",
                    (
                        CommandOption("contract", "the NFT contract address, or clear / check"),
                        CommandOption("token_id", "the token id", required=False),
                        CommandOption("chain", "the chain name or id", required=False),
                    ),
                ),
                self.avatar,
            )

    # --- /link ----------------------------------------------------------------------------

    async def link(self, request: CommandRequest) -> CommandReply:
        url = await self._links.create_token(request.author, request.chat)
        minutes = TOKEN_TTL // 60
        return CommandReply(
            f"Open this link within {minutes} minutes to link a wallet to your "
            f"{request.author.platform} account. It works once; do not share it.\n{url}",
            private=True,
        )

    # --- /unlink --------------------------------------------------------------------------

    async def unlink(self, request: CommandRequest) -> CommandReply:
        author = request.author
        if len(request.args) > 1:
            raise UsageError("Give at most one address.")
        address = request.args[0] if request.args else None
        if address is not None and not _ADDRESS.fullmatch(address):
            raise UsageError("That is not an address (0x followed by 40 hex digits).")
        removed = await self._links.unlink(author.platform, str(author.user_id), address)
        if self._avatars is not None and removed:
            await self._avatars.on_unlinked(author.platform, str(author.user_id))
        if removed == 0:
            what = f"{address} is not linked" if address else "you have no linked wallet"
            return CommandReply(f"Nothing to unlink: {what}.", private=True)
        noun = "wallet" if removed == 1 else "wallets"
        return CommandReply(f"Unlinked {removed} {noun}.", private=True)

    # --- /whois ---------------------------------------------------------------------------

    async def whois(self, request: CommandRequest) -> CommandReply:
        if len(request.args) > 1:
            raise UsageError("Name one user or address.")
        if not request.args:
            return CommandReply(
                await self._describe_account(
                    request.author.platform,
                    str(request.author.user_id),
                    request.author.display_name,
                )
            )
        target = request.args[0]
        if _ADDRESS.fullmatch(target):
            return CommandReply(await self._describe_address(target))
        platform = request.chat.platform
        user_id: str | None = None
        qualified = self._index.qualified(target)
        if qualified is not None and _QUALIFIED_REST.fullmatch(qualified[1]) is None:
            qualified = None
        if (mention := self._index.native_user(target)) is not None:
            # A platform's own mention syntax, whichever chat the command came from.
            platform, user_id = mention
        elif qualified is not None:
            platform, rest = qualified
            user_id = rest if _USER_ID.fullmatch(rest) else None
            if user_id is None:
                target = rest
        elif _USER_ID.fullmatch(target):
            user_id = target
        if user_id is None:
            name = target.removeprefix("@")
            if not name or len(name) > 64:
                raise UsageError("Name a user as @name, a user id, or an address.")
            found = await self._links.find_accounts(platform, name)
            if not found:
                return CommandReply(f"No linked account named {_one_line(name)} on {platform}.")
            parts = [await self._describe_account(p, u, None) for p, u in found[:3]]
            return CommandReply("\n\n".join(parts))
        return CommandReply(await self._describe_account(platform, user_id, None))

    async def _describe_account(self, platform: str, user_id: str, name: str | None) -> str:
        wallets = await self._links.wallets_of(platform, user_id)
        label = _one_line(wallets[-1].display_name if wallets else (name or user_id))
        head = f"{label} ({platform}:{user_id})"
        if not wallets:
            return f"{head} has no linked wallet."
        lines = [head]
        others: dict[tuple[str, str], str] = {}
        for wallet in wallets[:_MAX_WALLETS_SHOWN]:
            lines.append(await self._wallet_line(wallet))
            for account in await self._links.accounts_of(wallet.address):
                if (account.platform, account.user_id) != (platform, user_id):
                    others[(account.platform, account.user_id)] = account.display_name
        if len(wallets) > _MAX_WALLETS_SHOWN:
            lines.append(f"… and {len(wallets) - _MAX_WALLETS_SHOWN} more")
        if others:
            lines.append(
                "also: " + ", ".join(f"{p}:{_one_line(n, 32)}" for (p, _u), n in others.items())
            )
        lines.append(await self._avatar_line(platform, user_id))
        return "\n".join(line for line in lines if line)

    async def _wallet_line(self, wallet: WalletLink) -> str:
        ens = await verified_name(wallet.address, self._ens)
        kind = "contract wallet" if wallet.method == "eip1271" else "account"
        suffix = f" ({_one_line(ens)})" if ens else ""
        return f"wallet {wallet.address}{suffix} — {kind}, signed proof kept"

    async def _avatar_line(self, platform: str, user_id: str) -> str:
        if self._avatars is None:
            return ""
        record = await self._avatars.get(platform, user_id)
        if record is None:
            return ""
        _chain, _standard, contract, token_id = parse_caip19(record.caip19)
        collection = _one_line(record.collection or record.name or contract, 48)
        return f"avatar: ✅ verified NFT — {collection} #{token_id}"

    async def _describe_address(self, address: str) -> str:
        accounts = await self._links.accounts_of(address)
        ens = await verified_name(address, self._ens)
        head = address + (f" ({_one_line(ens)})" if ens else "")
        if not accounts:
            return f"{head} is not linked to any chat account."
        names = ", ".join(
            f"{a.platform}:{_one_line(a.display_name, 32)}" for a in accounts[:_MAX_WALLETS_SHOWN]
        )
        return f"{head} is linked to: {names}"

    # --- /avatar --------------------------------------------------------------------------

    async def avatar(self, request: CommandRequest) -> CommandReply:
        assert self._avatars is not None
        author, args = request.author, request.args
        platform, user_id = author.platform, str(author.user_id)
        if not args:
            raise UsageError("Name the NFT: its contract address and token id.")
        if args[0].lower() == "clear" and len(args) == 1:
            cleared = await self._avatars.clear(platform, user_id)
            return CommandReply(
                "Your NFT avatar is cleared." if cleared else "You have no NFT avatar.",
                private=True,
            )
        if args[0].lower() == "check" and len(args) == 1:
            result = await self._avatars.recheck_user(platform, user_id)
            if result is True:
                text = "Checked: your wallet still holds your avatar NFT."
            elif result is False:
                text = "Checked: your avatar NFT is no longer in a linked wallet; it was removed."
            elif await self._avatars.get(platform, user_id) is None:
                text = "You have no NFT avatar."
            else:
                text = "The chain could not be asked right now; your avatar stays as it is."
            return CommandReply(text, private=True)
        if len(args) not in (2, 3):
            raise UsageError("Give the contract address and the token id (and optionally a chain).")
        contract, token_text = args[0], args[1]
        if not _ADDRESS.fullmatch(contract):
            raise UsageError("The contract must be an address: 0x followed by 40 hex digits.")
        if not _TOKEN_ID.fullmatch(token_text):
            raise UsageError("The token id must be a whole number.")
        try:
            chain = parse_chain(args[2]) if len(args) == 3 else None
            record = await self._avatars.set_avatar(
                platform, user_id, contract, int(token_text), chain
            )
        except AvatarError as exc:
            return CommandReply(f"Avatar not set: {exc}", private=True)
        label = _one_line(record.collection or record.name or contract, 48)
        return CommandReply(
            f"Your avatar is now {label} #{token_text} (verified NFT, held by {record.wallet}).",
            private=True,
        )


def register_identity_commands(
    commands: Commands,
    links: LinkService,
    avatars: AvatarService | None,
    ens: EnsLookups | None = None,
    index: PlatformIndex | None = None,
) -> IdentityCommands:
    handlers = IdentityCommands(links, avatars, ens, index)
    handlers.register(commands)
    return handlers
