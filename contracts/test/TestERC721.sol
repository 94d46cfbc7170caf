// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title TestERC721
/// @notice An ERC-721 where anyone may mint and set a token's URI. Tests only.
contract TestERC721 is ERC721 {
    mapping(uint256 tokenId => string) private _uris;

    /// @param name_ Collection name.
    /// @param symbol_ Collection symbol.
    constructor(string memory name_, string memory symbol_) ERC721(name_, symbol_) {}

    /// @notice Mint `tokenId` to `to`.
    /// @param to The owner.
    /// @param tokenId The new token.
    function mint(address to, uint256 tokenId) external {
        _mint(to, tokenId);
    }

    /// @notice Set the URI returned by {tokenURI} for an existing token.
    /// @param tokenId The token.
    /// @param uri Any string: a URL, `ipfs://…`, `data:…` or raw JSON.
    function setTokenURI(uint256 tokenId, string calldata uri) external {
        _requireOwned(tokenId);
        _uris[tokenId] = uri;
    }

    /// @notice Burn `tokenId` (anyone may call).
    /// @param tokenId The token.
    function burn(uint256 tokenId) external {
        _burn(tokenId);
    }

    /// @inheritdoc ERC721
    function tokenURI(uint256 tokenId) public view override returns (string memory) {
        _requireOwned(tokenId);
        return _uris[tokenId];
    }
}
