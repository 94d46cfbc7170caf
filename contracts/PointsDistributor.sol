// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title PointsDistributor
/// @notice Pays out a community's points: each cycle the operator publishes one Merkle root over
///         every member wallet's *cumulative* amount; a member claims the difference between that
///         amount and what the wallet already claimed, so a missed cycle is claimed later in one
///         transaction. The community funds the contract by sending it the token.
/// @dev Leaf = keccak256(abi.encodePacked(account, cumulativeAmount)); inner nodes are the
///      sorted-pair keccak256 of OpenZeppelin's {MerkleProof}. The 52-byte leaf preimage cannot
///      collide with a 64-byte inner-node preimage.
contract PointsDistributor is Ownable {
    using SafeERC20 for IERC20;

    /// @notice The token paid out.
    IERC20 public immutable token;
    /// @notice The root of the latest published cycle (zero before the first).
    bytes32 public merkleRoot;
    /// @notice The latest published cycle number (0 before the first).
    uint256 public cycle;
    /// @notice What each account has claimed so far, in the token's smallest unit.
    mapping(address account => uint256) public alreadyClaimed;
    /// @notice The sum of {alreadyClaimed} over all accounts.
    uint256 public totalClaimed;

    /// @notice A cycle's root was published.
    event RootPublished(uint256 indexed cycle, bytes32 root);
    /// @notice `account` received `amount`.
    event Claimed(address indexed account, uint256 amount);

    /// @notice `given` is not the next cycle (`expected`): a cycle is published once, in order.
    error CycleOutOfOrder(uint256 expected, uint256 given);
    /// @notice The root is zero or the same as the current one.
    error RootUnchanged(bytes32 root);
    /// @notice The token address has no code.
    error InvalidToken(address token);
    /// @notice Only the account itself may claim its amount.
    error NotAccount(address sender, address account);
    /// @notice The proof does not lead to the current root.
    error InvalidProof();
    /// @notice The account already claimed its cumulative amount (or more).
    error NothingToClaim(uint256 cumulativeAmount, uint256 claimed);
    /// @notice The contract holds less of the token than this claim pays.
    error InsufficientFunds(uint256 available, uint256 needed);

    /// @param token_ The ERC-20 to pay out.
    /// @param owner_ The account that publishes roots (the bridge's operator key).
    constructor(IERC20 token_, address owner_) Ownable(owner_) {
        if (address(token_).code.length == 0) revert InvalidToken(address(token_));
        token = token_;
    }

    /// @notice Publish the root of cycle `cycle_` (must be the next one).
    function publishRoot(uint256 cycle_, bytes32 root) external onlyOwner {
        if (cycle_ != cycle + 1) revert CycleOutOfOrder(cycle + 1, cycle_);
        if (root == bytes32(0) || root == merkleRoot) revert RootUnchanged(root);
        cycle = cycle_;
        merkleRoot = root;
        emit RootPublished(cycle_, root);
    }

    /// @notice Pay `account` its `cumulativeAmount` minus what it already claimed.
    /// @param account The member's wallet (must be the caller).
    /// @param cumulativeAmount The cumulative amount in the current cycle's list.
    /// @param proof The sibling hashes from the leaf up to {merkleRoot}.
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof) external {
        if (msg.sender != account) revert NotAccount(msg.sender, account);
        bytes32 leaf = keccak256(abi.encodePacked(account, cumulativeAmount));
        if (!MerkleProof.verifyCalldata(proof, merkleRoot, leaf)) revert InvalidProof();
        uint256 claimed = alreadyClaimed[account];
        if (cumulativeAmount <= claimed) revert NothingToClaim(cumulativeAmount, claimed);
        uint256 amount = cumulativeAmount - claimed;
        uint256 available = token.balanceOf(address(this));
        if (available < amount) revert InsufficientFunds(available, amount);
        alreadyClaimed[account] = cumulativeAmount;
        totalClaimed += amount;
        token.safeTransfer(account, amount);
        emit Claimed(account, amount);
    }
}
