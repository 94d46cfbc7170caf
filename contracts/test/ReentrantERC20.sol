// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {TipJar} from "../TipJar.sol";

/// @title ReentrantERC20
/// @notice A mintable ERC-20 whose `transferFrom` tries to re-enter {TipJar.tipToken} once
///         (as the token, tipping itself to `victim`), records how that attempt ended, and then
///         transfers normally. Tests only.
contract ReentrantERC20 is ERC20 {
    /// @notice The TipJar to attack.
    TipJar public immutable tipJar;
    /// @notice Where the re-entrant tip would go.
    address public immutable victim;
    /// @notice Whether a re-entrant call succeeded (must stay false).
    bool public reentered;
    /// @notice Whether the attack already ran.
    bool public attacked;
    /// @notice The revert data of the re-entrant attempt.
    bytes public lastError;

    /// @param tipJar_ The TipJar to attack.
    /// @param victim_ Recipient of the re-entrant tip.
    constructor(TipJar tipJar_, address victim_) ERC20("Reentrant", "RE") {
        tipJar = tipJar_;
        victim = victim_;
    }

    /// @notice Mint `amount` to `to`; anyone may call.
    /// @param to Receiver of the new tokens.
    /// @param amount Amount in the smallest unit.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20
    function transferFrom(address from, address to, uint256 value) public override returns (bool) {
        if (!attacked && msg.sender == address(tipJar)) {
            attacked = true;
            try tipJar.tipToken(IERC20(address(this)), victim, 1, bytes32("reenter")) {
                reentered = true;
            } catch (bytes memory reason) {
                lastError = reason;
            }
        }
        return super.transferFrom(from, to, value);
    }
}
