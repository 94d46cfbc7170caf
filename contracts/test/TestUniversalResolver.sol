// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title TestUniversalResolver
/// @notice A stand-in for the ENS Universal Resolver, for tests on a local chain. Tests only.
/// @dev web3.py 8 reads ENS only through the Universal Resolver at
///      0xeEeEEEeE14D718C2B47D9923Deab1335E144EeEe, and only through one function:
///      `resolve(bytes name, bytes data) returns (bytes result, address resolver)`, where
///      `name` is the DNS-encoded name and `data` is a resolver call on the name's node:
///        - `w3.ens.address(n)`: data = `addr(bytes32 namehash(n))`; result = abi.encode(address)
///        - `w3.ens.name(a)`:    data = `name(bytes32 namehash("<hex a>.addr.reverse"))`;
///                               result = abi.encode(string)
///      (web3 then checks the forward record of the name itself.) Nothing else is implemented.
///
///      Meant to have its runtime code copied to that address with `anvil_setCode`, which moves
///      code but no storage: there is no constructor state. The first account to call a setter
///      becomes the owner; after that only the owner may change the tables.
///
///      Lookups of a name without an `addr` record revert with `ResolverNotFound(name)`, as the
///      real resolver does for a name without a resolver (web3 answers None). A reverse lookup
///      of an address without a name returns the empty string, as ENS's default reverse
///      resolver does (web3 answers None).
contract TestUniversalResolver {
    /// @notice The account allowed to change the tables; zero until the first setter call.
    address public owner;

    mapping(bytes32 node => address addr) private _addrs;
    mapping(bytes32 reverseNode => string name) private _names;

    /// @dev namehash("addr.reverse")
    bytes32 private constant ADDR_REVERSE_NODE =
        0x91d1777781884d03a6757a803996e38de2a42967fb37eeaca72729271025a9e2;
    bytes4 private constant ADDR_SELECTOR = bytes4(keccak256("addr(bytes32)"));
    bytes4 private constant NAME_SELECTOR = bytes4(keccak256("name(bytes32)"));

    error NotOwner(address caller);
    error InvalidName(string name);
    error MalformedDnsName(bytes name);
    error NodeMismatch(bytes name, bytes32 node);
    error UnsupportedResolverProfile(bytes4 selector);
    error ResolverNotFound(bytes name);

    event AddrChanged(string name, bytes32 indexed node, address addr);
    event NameChanged(address indexed addr, bytes32 indexed reverseNode, string name);

    modifier onlyOwner() {
        if (owner == address(0)) {
            owner = msg.sender;
        } else if (msg.sender != owner) {
            revert NotOwner(msg.sender);
        }
        _;
    }

    /// @notice Point the (normalised, dot-separated) `name` at `addr`; zero clears the record.
    function setAddr(string calldata name, address addr) external onlyOwner {
        bytes32 node = namehash(name);
        _addrs[node] = addr;
        emit AddrChanged(name, node, addr);
    }

    /// @notice Set the reverse record (primary name) of `addr`; the empty string clears it.
    function setName(address addr, string calldata name) external onlyOwner {
        bytes32 node = reverseNode(addr);
        _names[node] = name;
        emit NameChanged(addr, node, name);
    }

    /// @notice The Universal Resolver's entry point, for the `addr(bytes32)` and
    ///         `name(bytes32)` profiles.
    /// @param name The DNS-encoded name; its namehash must be the node in `data`.
    /// @param data The resolver call: a selector and the name's node.
    /// @return The ABI-encoded answer of the resolver call, and this contract as the resolver.
    function resolve(bytes calldata name, bytes calldata data)
        external
        view
        returns (bytes memory, address)
    {
        if (data.length != 36) {
            revert UnsupportedResolverProfile(data.length >= 4 ? bytes4(data[:4]) : bytes4(0));
        }
        bytes4 selector = bytes4(data[:4]);
        bytes32 node = bytes32(data[4:36]);
        if (dnsNamehash(name, 0) != node) revert NodeMismatch(name, node);
        if (selector == ADDR_SELECTOR) {
            address addr = _addrs[node];
            if (addr == address(0)) revert ResolverNotFound(name);
            return (abi.encode(addr), address(this));
        }
        if (selector == NAME_SELECTOR) {
            return (abi.encode(_names[node]), address(this));
        }
        revert UnsupportedResolverProfile(selector);
    }

    /// @notice The ENS namehash of a dot-separated name ("" is the root).
    function namehash(string calldata name) public pure returns (bytes32 node) {
        bytes calldata text = bytes(name);
        uint256 end = text.length;
        if (end == 0) return bytes32(0);
        for (uint256 i = end; i > 0; i--) {
            if (text[i - 1] == ".") {
                if (i == end) revert InvalidName(name);
                node = keccak256(abi.encodePacked(node, keccak256(text[i:end])));
                end = i - 1;
            }
        }
        if (end == 0) revert InvalidName(name);
        node = keccak256(abi.encodePacked(node, keccak256(text[:end])));
    }

    /// @notice The node of `<lowercase hex of addr>.addr.reverse`.
    function reverseNode(address addr) public pure returns (bytes32) {
        bytes memory hexLabel = new bytes(40);
        bytes16 digits = "0123456789abcdef";
        uint160 value = uint160(addr);
        for (uint256 i = 40; i > 0; i--) {
            hexLabel[i - 1] = digits[value & 0xf];
            value >>= 4;
        }
        return keccak256(abi.encodePacked(ADDR_REVERSE_NODE, keccak256(hexLabel)));
    }

    /// @notice The namehash of the DNS-encoded name starting at `offset` of `name`.
    function dnsNamehash(bytes calldata name, uint256 offset) public pure returns (bytes32) {
        if (offset >= name.length) revert MalformedDnsName(name);
        uint256 size = uint8(name[offset]);
        if (size == 0) {
            if (offset + 1 != name.length) revert MalformedDnsName(name);
            return bytes32(0);
        }
        uint256 next = offset + 1 + size;
        if (next > name.length) revert MalformedDnsName(name);
        bytes32 label = keccak256(name[offset + 1:next]);
        return keccak256(abi.encodePacked(dnsNamehash(name, next), label));
    }
}
