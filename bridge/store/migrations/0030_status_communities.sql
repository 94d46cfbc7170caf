-- What the bridge knows about each Status community it bridges to (issue 10): the newest
-- CommunityDescription verified as signed by the community key (the signed
-- ApplicationMetadataMessage, re-verified when loaded), and its own requests to join.
CREATE TABLE status_communities (
  community_id TEXT PRIMARY KEY,          -- "0x" + 66 hex
  clock INTEGER NOT NULL DEFAULT 0,       -- the stored description's clock
  description BLOB,                       -- signed ApplicationMetadataMessage, or NULL
  first_request_at REAL,                  -- Unix seconds of the first request to join
  last_request_at REAL,
  requests INTEGER NOT NULL DEFAULT 0,
  was_member INTEGER NOT NULL DEFAULT 0,  -- seen as a member once: a later absence is a kick
  updated_at REAL NOT NULL
) WITHOUT ROWID;
