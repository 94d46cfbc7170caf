// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title CommunityPoints
/// @notice A plain fixed-supply ERC-20 for communities without a token of their own: the whole
///         supply goes to `holder` at deployment, who funds the {PointsDistributor} from it.
contract CommunityPoints is ERC20 {
    /// @param name_ The token's name.
    /// @param symbol_ The token's symbol (e.g. POINTS).
    /// @param holder The account that receives the supply.
    /// @param supply The whole supply, in the smallest unit (18 decimals).
    constructor(string memory name_, string memory symbol_, address holder, uint256 supply)
        ERC20(name_, symbol_)
    {
        _mint(holder, supply);
    }
}
