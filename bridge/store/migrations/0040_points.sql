-- Community points (bridge/points). Every change to anyone's points is one row of
-- points_entries (who, what, why, when): the totals are sums over it, nothing is overwritten.
CREATE TABLE points_entries (
  id INTEGER PRIMARY KEY,
  cycle INTEGER NOT NULL,            -- the cycle that was open when the entry was made
  room TEXT NOT NULL,
  platform TEXT NOT NULL,            -- the account credited (or debited)
  user_id TEXT NOT NULL,
  person TEXT NOT NULL,              -- the account's person when the entry was made (caps)
  kind TEXT NOT NULL CHECK (kind IN
    ('message', 'reply', 'reaction', 'tip', 'award', 'deduct', 'reversal')),
  amount INTEGER NOT NULL,           -- points, negative for deduct / reversal
  actor TEXT NOT NULL,               -- who caused it: "platform:user_id" or "system"
  reason TEXT NOT NULL,
  ref TEXT UNIQUE,                   -- what caused it, once (msg:<id>, react:<id>:<person> ...)
  day INTEGER NOT NULL,              -- UTC day number of created_at (daily caps)
  created_at INTEGER NOT NULL
);
CREATE INDEX points_entries_room_cycle ON points_entries(room, cycle);
CREATE INDEX points_entries_account ON points_entries(platform, user_id);
CREATE INDEX points_entries_cap ON points_entries(room, person, day);

-- Names seen for accounts that earned points (so /points @name finds unlinked members too).
CREATE TABLE points_accounts (
  platform TEXT NOT NULL,
  user_id TEXT NOT NULL,
  display_name TEXT NOT NULL,
  username TEXT,
  show_points INTEGER NOT NULL DEFAULT 0,  -- /points show: points next to the name
  seen_at INTEGER NOT NULL,
  PRIMARY KEY (platform, user_id)
) WITHOUT ROWID;

-- Closed cycles. 'closing': the list is fixed but the root is not yet confirmed on chain;
-- 'published': the distributor's merkleRoot() is this root at the confirmation depth.
CREATE TABLE points_cycles (
  cycle INTEGER PRIMARY KEY,
  status TEXT NOT NULL CHECK (status IN ('closing', 'published')),
  root TEXT NOT NULL,
  cid TEXT NOT NULL,
  token TEXT NOT NULL,
  distributor TEXT,
  members INTEGER NOT NULL,
  total TEXT NOT NULL,               -- sum of the cumulative amounts, base units, decimal text
  closed_by TEXT NOT NULL,
  closed_at INTEGER NOT NULL,
  tx_hash TEXT,
  published_block INTEGER,
  published_at INTEGER
);

-- The cumulative amount (in points) of every wallet in a cycle's list: the list can always
-- be rebuilt from here, byte for byte.
CREATE TABLE points_claims (
  cycle INTEGER NOT NULL,
  wallet TEXT NOT NULL,              -- EIP-55
  points INTEGER NOT NULL,
  PRIMARY KEY (cycle, wallet)
) WITHOUT ROWID;

-- Points of each account already handed to a wallet, so that relinking to another wallet
-- moves only what was not paid out yet (never the same points twice).
CREATE TABLE points_allocated (
  platform TEXT NOT NULL,
  user_id TEXT NOT NULL,
  points INTEGER NOT NULL,
  PRIMARY KEY (platform, user_id)
) WITHOUT ROWID;

-- Claimed events read at the confirmation depth, once each.
CREATE TABLE points_claim_events (
  tx_hash TEXT NOT NULL,
  log_index INTEGER NOT NULL,
  distributor TEXT NOT NULL,
  block_number INTEGER NOT NULL,
  account TEXT NOT NULL,
  amount TEXT NOT NULL,
  seen_at INTEGER NOT NULL,
  announced INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tx_hash, log_index)
) WITHOUT ROWID;
