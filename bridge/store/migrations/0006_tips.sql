-- Tips (bridge/tips): intents created by /tip, the TipJar events the chain watcher confirmed,
-- and the watcher's position on the chain. Amounts are uint256 base units, kept as decimal
-- text (they do not fit SQLite's 64-bit integers).
CREATE TABLE tip_intents (
  id TEXT PRIMARY KEY,                 -- 0x + 64 hex: also the bytes32 `ref` sent on-chain
  tipper_platform TEXT NOT NULL,
  tipper_user_id TEXT NOT NULL,
  tipper_name TEXT NOT NULL,
  recipient_platform TEXT,             -- NULL when the tip goes to a bare address / ENS name
  recipient_user_id TEXT,
  recipient_name TEXT NOT NULL,        -- display name, ENS name or short address
  recipient_address TEXT NOT NULL,     -- EIP-55
  token TEXT,                          -- ERC-20 address (EIP-55), NULL for ETH
  symbol TEXT NOT NULL,
  decimals INTEGER NOT NULL,
  amount TEXT NOT NULL,                -- base units, decimal text
  memo TEXT NOT NULL DEFAULT '',
  chat_platform TEXT NOT NULL,
  chat_id TEXT NOT NULL,
  chain_id INTEGER NOT NULL,
  tipjar TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paid', 'expired')),
  paid_tx TEXT,
  paid_at INTEGER
) WITHOUT ROWID;
CREATE INDEX tip_intents_open ON tip_intents(status, expires_at);
CREATE INDEX tip_intents_recipient ON tip_intents(lower(recipient_address), created_at);

-- Tipped events read at >= confirmations depth, once each (keyed by tx hash + log index).
CREATE TABLE tips (
  tx_hash TEXT NOT NULL,
  log_index INTEGER NOT NULL,
  tipjar TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  block_hash TEXT NOT NULL,
  sender TEXT NOT NULL,
  recipient TEXT NOT NULL,
  token TEXT,                          -- NULL for ETH
  amount TEXT NOT NULL,
  symbol TEXT,                         -- NULL: a token the bridge does not know (not announced)
  decimals INTEGER,
  ref TEXT NOT NULL,
  tipper_name TEXT NOT NULL,           -- as announced: the intent's tipper, a linked name or address
  recipient_name TEXT NOT NULL,
  intent_id TEXT REFERENCES tip_intents(id),
  chat_platform TEXT,                  -- where it was announced (NULL: privately only / nowhere)
  chat_id TEXT,
  seen_at INTEGER NOT NULL,
  announced INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tx_hash, log_index)
) WITHOUT ROWID;
CREATE INDEX tips_chat ON tips(chat_platform, chat_id, block_number);
CREATE INDEX tips_pending ON tips(announced) WHERE announced = 0;

-- The watcher's cursor per (chain, TipJar): the next block to read.
CREATE TABLE tip_watch (
  chain_id INTEGER NOT NULL,
  tipjar TEXT NOT NULL,
  next_block INTEGER NOT NULL,
  PRIMARY KEY (chain_id, tipjar)
) WITHOUT ROWID;

-- Hashes of recently processed blocks, to notice a reorg below the cursor.
CREATE TABLE tip_watch_blocks (
  chain_id INTEGER NOT NULL,
  tipjar TEXT NOT NULL,
  number INTEGER NOT NULL,
  hash TEXT NOT NULL,
  PRIMARY KEY (chain_id, tipjar, number)
) WITHOUT ROWID;
