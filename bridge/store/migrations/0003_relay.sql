-- Relaying: the messages the bridge carried, the id map, and the durable outbox.

-- One row per message written by a person in some chat of a room (never per copy).
CREATE TABLE relay_messages (
  id INTEGER PRIMARY KEY,
  room TEXT NOT NULL,
  source_platform TEXT NOT NULL,
  source_chat TEXT NOT NULL,
  source_native_id TEXT NOT NULL,
  author TEXT NOT NULL,            -- JSON: Author
  text TEXT NOT NULL,              -- the latest text (edits overwrite it)
  spans TEXT NOT NULL,             -- JSON: list of Span
  reply_to INTEGER,                -- relay_messages.id of the parent (no FK: it may be pruned)
  attachments TEXT NOT NULL,       -- JSON: list of Attachment (inline data base64-encoded)
  sent_at REAL NOT NULL,           -- the source platform's timestamp, Unix seconds
  created_at REAL NOT NULL,
  deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX relay_messages_created ON relay_messages(created_at);

-- The id map: where each message lives, per chat. origin = 1 for the chat it was written in,
-- 0 for a copy the bridge posted. A native id seen again is a duplicate (origin 1) or the
-- bridge's own echo (origin 0).
CREATE TABLE relay_native_ids (
  platform TEXT NOT NULL,
  chat TEXT NOT NULL,
  native_id TEXT NOT NULL,
  message_id INTEGER NOT NULL REFERENCES relay_messages(id) ON DELETE CASCADE,
  origin INTEGER NOT NULL CHECK (origin IN (0, 1)),
  PRIMARY KEY (platform, chat, native_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX relay_native_ids_message ON relay_native_ids(message_id, platform, chat);

-- One row per (message, target chat, action). A worker per target takes open rows in id order.
-- 'sending' = an attempt started and its outcome is not recorded yet (in doubt after a crash).
CREATE TABLE relay_outbox (
  id INTEGER PRIMARY KEY,
  message_id INTEGER NOT NULL REFERENCES relay_messages(id) ON DELETE CASCADE,
  target_platform TEXT NOT NULL,
  target_chat TEXT NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('send', 'edit', 'delete', 'react')),
  payload TEXT,                    -- JSON: edit text or reaction, NULL for send and delete
  state TEXT NOT NULL DEFAULT 'pending'
    CHECK (state IN ('pending', 'sending', 'delivered', 'failed', 'skipped')),
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at REAL NOT NULL,
  next_attempt_at REAL NOT NULL,
  last_error TEXT,
  native_id TEXT,
  idempotency_key TEXT NOT NULL
);
CREATE INDEX relay_outbox_open ON relay_outbox(target_platform, target_chat, id)
  WHERE state IN ('pending', 'sending');
CREATE INDEX relay_outbox_message ON relay_outbox(message_id);
