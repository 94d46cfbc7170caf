// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Feed
/// @notice Anchors Parley's public feed on-chain: a post (or a Merkle root over many posts) is
///         announced as an event together with where to fetch it. Nothing is stored; readers
///         follow the logs.
contract Feed {
    /// @notice The longest `uri` accepted, in bytes.
    uint256 public constant MAX_URI_LENGTH = 2048;

    /// @notice One post was anchored.
    /// @param poster The account that posted (`msg.sender`).
    /// @param digest The post's content hash.
    /// @param uri Where the post can be fetched (e.g. `ipfs://<cid>`); may be empty.
    /// @param timestamp The block's timestamp.
    event Posted(address indexed poster, bytes32 indexed digest, string uri, uint256 timestamp);

    /// @notice A batch of posts was anchored by the Merkle root over their digests.
    /// @param poster The account that posted (`msg.sender`).
    /// @param root The Merkle root over the batch.
    /// @param uri Where the batch can be fetched; may be empty.
    /// @param timestamp The block's timestamp.
    event BatchPosted(address indexed poster, bytes32 indexed root, string uri, uint256 timestamp);

    /// @notice The digest was zero.
    error ZeroDigest();
    /// @notice The Merkle root was zero.
    error ZeroRoot();
    /// @notice The URI is longer than {MAX_URI_LENGTH}.
    /// @param length The URI's length in bytes.
    error UriTooLong(uint256 length);

    /// @notice Anchor one post.
    /// @param digest The post's content hash (non-zero).
    /// @param uri Where to fetch it (at most {MAX_URI_LENGTH} bytes).
    function post(bytes32 digest, string calldata uri) external {
        if (digest == bytes32(0)) revert ZeroDigest();
        _checkUri(uri);
        emit Posted(msg.sender, digest, uri, block.timestamp);
    }

    /// @notice Anchor many posts at once by their Merkle root.
    /// @param root The Merkle root over the posts' digests (non-zero).
    /// @param uri Where to fetch the batch (at most {MAX_URI_LENGTH} bytes).
    function postBatch(bytes32 root, string calldata uri) external {
        if (root == bytes32(0)) revert ZeroRoot();
        _checkUri(uri);
        emit BatchPosted(msg.sender, root, uri, block.timestamp);
    }

    /// @dev Bounds the log size readers must handle.
    function _checkUri(string calldata uri) private pure {
        if (bytes(uri).length > MAX_URI_LENGTH) revert UriTooLong(bytes(uri).length);
    }
}
