-- Every later part of a multi-message copy, pointing at the copy (relay_parts.native_id): a
-- reply, reaction, edit or delete aimed at any part reaches the relayed message. Pruned with
-- relay_parts.
CREATE TABLE relay_part_ids (
  platform TEXT NOT NULL,
  chat TEXT NOT NULL,
  part_id TEXT NOT NULL,
  native_id TEXT NOT NULL,
  created_at REAL NOT NULL,
  PRIMARY KEY (platform, chat, part_id)
) WITHOUT ROWID;
CREATE INDEX relay_part_ids_copy ON relay_part_ids(platform, chat, native_id);
CREATE INDEX relay_part_ids_created ON relay_part_ids(created_at);
