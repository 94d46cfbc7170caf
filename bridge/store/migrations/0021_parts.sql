-- How the bridge posted a copy that took several platform messages (a long text in parts, a
-- file with a caption and the rest of its text): edits and deletes reach every part, also
-- after a restart. Keyed by the copy's native id (its first part), pruned with the messages.
CREATE TABLE relay_parts (
  platform TEXT NOT NULL,
  chat TEXT NOT NULL,
  native_id TEXT NOT NULL,
  layout TEXT NOT NULL,            -- JSON, the adapter's own description of the parts
  created_at REAL NOT NULL,
  PRIMARY KEY (platform, chat, native_id)
) WITHOUT ROWID;
CREATE INDEX relay_parts_created ON relay_parts(created_at);
