// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title TipJar
/// @notice Non-custodial tips: ETH or any ERC-20 goes from the sender straight to the recipient in
///         one call, tagged with a 32-byte reference that the Parley bridge matches to a tip
///         intent. The contract never holds funds: it has no receive/fallback, `tipToken` is not
///         payable, and `tipETH` forwards exactly `msg.value`.
/// @dev Stateless apart from the transient reentrancy lock (EIP-1153, so deploy only on chains
///      with Cancun). Fee-on-transfer tokens are supported: the event reports the recipient's
///      balance delta, not the requested amount.
contract TipJar is ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice A tip reached `to`.
    /// @param from The sender (`msg.sender`).
    /// @param to The recipient.
    /// @param token The ERC-20 contract, or `address(0)` for ETH.
    /// @param amount What the recipient actually received (balance delta for ERC-20 tokens).
    /// @param ref The caller's reference, e.g. the bridge's tip-intent id.
    event Tipped(
        address indexed from,
        address indexed to,
        address indexed token,
        uint256 amount,
        bytes32 ref
    );

    /// @notice The tip amount (or `msg.value`) was zero.
    error ZeroAmount();
    /// @notice The recipient is the zero address or this contract.
    /// @param to The refused recipient.
    error InvalidRecipient(address to);
    /// @notice Sender and recipient are the same account.
    error SelfTip();
    /// @notice The token is `address(0)` (use `tipETH` for ETH) or has no code.
    /// @param token The refused token address.
    error InvalidToken(address token);
    /// @notice The recipient refused the ETH (its code reverted or ran out of gas).
    /// @param to The recipient that refused.
    error EthTransferFailed(address to);
    /// @notice The recipient's token balance did not grow (e.g. a 100% fee or a broken token).
    error NothingReceived();

    /// @notice Send `msg.value` wei to `to` and emit {Tipped} with `token = address(0)`.
    /// @dev All remaining gas is forwarded so contract wallets can receive; their return data is
    ///      not copied (no return-data bomb). A refusal reverts with {EthTransferFailed}.
    /// @param to The recipient.
    /// @param ref The reference to emit.
    function tipETH(address payable to, bytes32 ref) external payable nonReentrant {
        uint256 amount = msg.value;
        _checkTip(to, amount);
        bool ok;
        assembly ("memory-safe") {
            ok := call(gas(), to, amount, 0, 0, 0, 0)
        }
        if (!ok) revert EthTransferFailed(to);
        emit Tipped(msg.sender, to, address(0), amount, ref);
    }

    /// @notice Move `amount` of `token` from the caller straight to `to` (the caller must have
    ///         approved this contract) and emit {Tipped} with the amount `to` actually received.
    /// @param token The ERC-20 token.
    /// @param to The recipient.
    /// @param amount The amount to take from the caller, in the token's smallest unit.
    /// @param ref The reference to emit.
    function tipToken(IERC20 token, address to, uint256 amount, bytes32 ref) external nonReentrant {
        if (address(token).code.length == 0) revert InvalidToken(address(token));
        _checkTip(to, amount);
        uint256 before = token.balanceOf(to);
        token.safeTransferFrom(msg.sender, to, amount);
        uint256 afterwards = token.balanceOf(to);
        if (afterwards <= before) revert NothingReceived();
        emit Tipped(msg.sender, to, address(token), afterwards - before, ref);
    }

    /// @dev Checks shared by both entry points.
    function _checkTip(address to, uint256 amount) private view {
        if (amount == 0) revert ZeroAmount();
        if (to == address(0) || to == address(this)) revert InvalidRecipient(to);
        if (to == msg.sender) revert SelfTip();
    }
}
