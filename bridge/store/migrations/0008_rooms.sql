-- Rooms made in chat with /room join (admins). The config's rooms stay authoritative: a chat
-- listed there is never stored here. One row per chat: a chat is in at most one room.
CREATE TABLE room_members (
  platform TEXT NOT NULL,
  chat TEXT NOT NULL,
  room TEXT NOT NULL,
  added_by TEXT NOT NULL DEFAULT '',   -- "platform:user id" of the admin who joined it
  created_at REAL NOT NULL,
  PRIMARY KEY (platform, chat)
) WITHOUT ROWID;
