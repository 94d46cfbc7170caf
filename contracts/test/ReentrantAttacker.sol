// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {TipJar} from "../TipJar.sol";

/// @title ReentrantAttacker
/// @notice On receiving an ETH tip, tries to re-enter {TipJar.tipETH} with the same ETH towards
///         `victim`, records how that attempt ended, and accepts the original tip. Tests only.
contract ReentrantAttacker {
    /// @notice The TipJar to attack.
    TipJar public immutable tipJar;
    /// @notice Where the re-entrant tip would go.
    address payable public immutable victim;
    /// @notice How many times {receive} ran.
    uint256 public calls;
    /// @notice Whether a re-entrant call succeeded (must stay false).
    bool public reentered;
    /// @notice The revert data of the last re-entrant attempt.
    bytes public lastError;

    /// @param tipJar_ The TipJar to attack.
    /// @param victim_ Recipient of the re-entrant tip.
    constructor(TipJar tipJar_, address payable victim_) {
        tipJar = tipJar_;
        victim = victim_;
    }

    /// @notice Re-enters the TipJar once, then accepts the ETH.
    receive() external payable {
        calls += 1;
        if (calls > 1) return;
        try tipJar.tipETH{value: msg.value}(victim, bytes32("reenter")) {
            reentered = true;
        } catch (bytes memory reason) {
            lastError = reason;
        }
    }
}
