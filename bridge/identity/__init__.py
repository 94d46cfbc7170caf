"""Wallet linking: EIP-4361 sign-in messages and the signatures that prove them."""
