// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title NoERC165
/// @notice A contract with an `ownerOf` but no `supportsInterface`: calls to ERC-165 revert, so an
///         NFT checker must classify it as "unknown". Tests only.
contract NoERC165 {
    /// @notice Looks like ERC-721 `ownerOf` but answers the same for every id.
    /// @return The deployer.
    address public immutable ownerOfAll;

    constructor() {
        ownerOfAll = msg.sender;
    }

    /// @notice Returns the deployer for any id.
    /// @return The deployer.
    function ownerOf(uint256) external view returns (address) {
        return ownerOfAll;
    }
}
