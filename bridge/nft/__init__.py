"""NFT avatars: ownership checks, token URI resolution, SSRF-safe fetching and image cleaning."""
