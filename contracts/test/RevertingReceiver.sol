// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title RevertingReceiver
/// @notice A contract that refuses every ETH transfer. Tests only.
contract RevertingReceiver {
    /// @notice Always raised on receiving ETH.
    error NoEthPlease();

    /// @notice Refuses the ETH.
    receive() external payable {
        revert NoEthPlease();
    }
}
