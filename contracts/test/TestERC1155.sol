// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";

/// @title TestERC1155
/// @notice An ERC-1155 where anyone may mint; {uri} returns one template with `{id}`. Tests only.
contract TestERC1155 is ERC1155 {
    /// @param uri_ The URI template, e.g. `https://example.org/{id}.json`.
    constructor(string memory uri_) ERC1155(uri_) {}

    /// @notice Mint `amount` of `id` to `to`.
    /// @param to The owner (an EOA, or a contract implementing the receiver hook).
    /// @param id The token id.
    /// @param amount How many.
    function mint(address to, uint256 id, uint256 amount) external {
        _mint(to, id, amount, "");
    }

    /// @notice Replace the URI template.
    /// @param uri_ The new template.
    function setURI(string calldata uri_) external {
        _setURI(uri_);
    }
}
