// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title FeeOnTransferERC20
/// @notice A mintable ERC-20 that burns `feeBps` basis points of every transfer (not of mints or
///         burns), so receivers get less than was sent. Tests only.
contract FeeOnTransferERC20 is ERC20 {
    /// @notice The fee in basis points (10000 = everything).
    uint256 public immutable feeBps;

    /// @notice The fee exceeds 100%.
    /// @param feeBps The refused fee.
    error FeeTooHigh(uint256 feeBps);

    /// @param name_ Token name.
    /// @param symbol_ Token symbol.
    /// @param feeBps_ Fee in basis points, at most 10000.
    constructor(string memory name_, string memory symbol_, uint256 feeBps_) ERC20(name_, symbol_) {
        if (feeBps_ > 10_000) revert FeeTooHigh(feeBps_);
        feeBps = feeBps_;
    }

    /// @notice Mint `amount` to `to`; anyone may call.
    /// @param to Receiver of the new tokens.
    /// @param amount Amount in the smallest unit.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @dev Burns the fee from the sender, then moves the rest.
    function _update(address from, address to, uint256 value) internal override {
        if (from == address(0) || to == address(0)) {
            super._update(from, to, value);
            return;
        }
        uint256 fee = (value * feeBps) / 10_000;
        super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
