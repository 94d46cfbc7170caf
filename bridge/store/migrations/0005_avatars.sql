-- Verified NFT avatars. Images are stored once per content hash (the PNG the bridge produced
-- by re-encoding the token's image), so a backup of the database is a backup of the avatars.
CREATE TABLE avatar_images (
  sha256 TEXT PRIMARY KEY,         -- lower-case hex of the PNG bytes, the served file name
  png BLOB NOT NULL,
  source_format TEXT NOT NULL,     -- what the token's image was (PNG, JPEG, GIF, WEBP)
  created_at INTEGER NOT NULL
) WITHOUT ROWID;

-- At most one avatar per chat account, with what proved it: the asset, the wallet that held
-- it and the block at which it did.
CREATE TABLE avatars (
  platform TEXT NOT NULL,
  user_id TEXT NOT NULL,
  caip19 TEXT NOT NULL,            -- eip155:<chain>/<erc721|erc1155>:<contract>/<token id>
  wallet TEXT NOT NULL,            -- EIP-55, one of the account's linked wallets
  block INTEGER NOT NULL,
  collection TEXT,
  name TEXT,
  image_sha256 TEXT NOT NULL REFERENCES avatar_images(sha256),
  verified_at INTEGER NOT NULL,    -- Unix seconds of the last successful ownership check
  PRIMARY KEY (platform, user_id)
) WITHOUT ROWID;
CREATE INDEX avatars_verified ON avatars(verified_at);
CREATE INDEX avatars_image ON avatars(image_sha256);
