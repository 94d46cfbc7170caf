-- The public feed (bridge/feed): every record this bridge signed, and its anchoring state.
-- Records are append-only; "tombstoned" only marks a post that a later tombstone record hides.
CREATE TABLE feed_entries (
    cid TEXT PRIMARY KEY,                      -- CIDv1 raw of "record"
    entry_id TEXT NOT NULL UNIQUE,             -- the record's "id"
    kind TEXT NOT NULL CHECK (kind IN ('post', 'tombstone')),
    record BLOB NOT NULL,                      -- canonical JSON bytes, exactly as signed
    signature TEXT NOT NULL,                   -- EIP-191 over the CID, 0x + 130 hex
    source_message_id INTEGER,                 -- relay_messages.id of a cross-posted message
    target_cid TEXT,                           -- tombstone: the post it hides
    status_message_id TEXT,                    -- the Status ChatMessage id (0x…) on Waku
    created_at REAL NOT NULL,                  -- Unix seconds
    published INTEGER NOT NULL DEFAULT 0,      -- 1 once on the Waku feed topic
    tombstoned INTEGER NOT NULL DEFAULT 0,
    anchor_state TEXT NOT NULL DEFAULT 'none'
        CHECK (anchor_state IN ('none', 'pending', 'anchored')),
    anchor TEXT                                -- JSON: chain_id, contract, tx, block, kind, root, proof
);
-- One post per relayed message (a second /post answers with the first CID).
CREATE UNIQUE INDEX feed_entries_source ON feed_entries(source_message_id)
    WHERE kind = 'post' AND source_message_id IS NOT NULL;
CREATE INDEX feed_entries_created ON feed_entries(created_at);
CREATE INDEX feed_entries_pending ON feed_entries(anchor_state) WHERE anchor_state = 'pending';
CREATE INDEX feed_entries_unpublished ON feed_entries(published) WHERE published = 0;
