"""EIP-681 payment URIs for TipJar calls (``ethereum:<contract>@<chain>/<function>?...``).

Contract calls use EIP-681's function form: every argument is written ``<abi type>=<value>``
in declaration order, and ``value`` carries the wei sent along. A token tip needs two
transactions (``approve`` on the token, then ``tipToken`` on the TipJar), so two URIs.
"""

from __future__ import annotations

__all__ = ["approve_uri", "tip_eth_uri", "tip_token_uri"]


def tip_eth_uri(tipjar: str, chain_id: int, to: str, ref: str, wei: int) -> str:
    return f"ethereum:{tipjar}@{chain_id}/tipETH?address={to}&bytes32={ref}&value={wei}"


def tip_token_uri(tipjar: str, chain_id: int, token: str, to: str, amount: int, ref: str) -> str:
    return (
        f"ethereum:{tipjar}@{chain_id}/tipToken"
        f"?address={token}&address={to}&uint256={amount}&bytes32={ref}"
    )


def approve_uri(token: str, chain_id: int, spender: str, amount: int) -> str:
    return f"ethereum:{token}@{chain_id}/approve?address={spender}&uint256={amount}"
