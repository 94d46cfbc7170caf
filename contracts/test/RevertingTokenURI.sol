// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title RevertingTokenURI
/// @notice An ERC-721 whose {tokenURI} always reverts. Tests only.
contract RevertingTokenURI is ERC721 {
    /// @notice Always raised by {tokenURI}.
    error NoMetadata();

    constructor() ERC721("Reverting", "RVT") {}

    /// @notice Mint `tokenId` to `to`.
    /// @param to The owner.
    /// @param tokenId The new token.
    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }

    /// @notice Always reverts with {NoMetadata}.
    function tokenURI(uint256) public pure override returns (string memory) {
        revert NoMetadata();
    }
}
