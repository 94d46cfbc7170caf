// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @title TestWallet1271
/// @notice A minimal EIP-1271 contract wallet: a signature is valid when it recovers to the
///         owner EOA for the given hash. It also accepts ETH. Tests only.
contract TestWallet1271 is IERC1271 {
    /// @notice The EOA whose signatures this wallet accepts.
    address public immutable owner;

    /// @param owner_ The EOA whose signatures are valid.
    constructor(address owner_) {
        owner = owner_;
    }

    /// @notice Accepts ETH (so tips to a contract wallet can be tested).
    receive() external payable {}

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        if (err == ECDSA.RecoverError.NoError && signer == owner) {
            return IERC1271.isValidSignature.selector;
        }
        return 0xffffffff;
    }
}
