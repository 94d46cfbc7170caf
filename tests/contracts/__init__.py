"""Tests of the Solidity contracts in contracts/ against anvil."""
