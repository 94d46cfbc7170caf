"""Pure cryptography for Parley: keys, signatures, Waku version-1 payloads, keystore. No I/O."""
