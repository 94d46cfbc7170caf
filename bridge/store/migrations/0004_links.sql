-- Wallet links: a chat account proved control of an Ethereum address by signing an EIP-4361
-- message. The message and signature are kept verbatim so that anyone can re-verify the link.
-- One chat account may link several wallets, and one wallet may be linked by several chat accounts
-- (that is how a Telegram and a Discord account are shown to belong to one person).
CREATE TABLE wallet_links (
  platform TEXT NOT NULL,
  user_id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  address TEXT NOT NULL,           -- EIP-55 checksummed
  chain_id INTEGER NOT NULL,
  method TEXT NOT NULL CHECK (method IN ('eoa', 'eip1271')),
  message TEXT NOT NULL,           -- the signed EIP-4361 text
  signature TEXT NOT NULL,         -- 0x-hex
  linked_at INTEGER NOT NULL,      -- Unix seconds
  PRIMARY KEY (platform, user_id, address)
) WITHOUT ROWID;
-- Lookups compare addresses case-insensitively (a pasted address may be lower case).
CREATE INDEX wallet_links_address ON wallet_links(lower(address));

-- One-time link tokens from /link. Only the sha256 of the token is stored: a database leak
-- does not hand out working link URLs. used_at is set once, when a link is stored.
CREATE TABLE link_tokens (
  token_hash BLOB PRIMARY KEY,
  platform TEXT NOT NULL,
  user_id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  username TEXT,                   -- for the "@alice linked ..." announcement
  chat_platform TEXT NOT NULL,
  chat_id TEXT NOT NULL,
  nonce TEXT NOT NULL UNIQUE,      -- the EIP-4361 nonce bound to this token
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
) WITHOUT ROWID;
CREATE INDEX link_tokens_expires ON link_tokens(expires_at);
