-- Who reacted with what, per message: one row per (message, chat reacted in, person, emoji).
-- Each side shows the aggregate of everyone who reacted elsewhere, so one person taking a
-- reaction back never removes what someone else still has.
CREATE TABLE relay_reactions (
  message_id INTEGER NOT NULL REFERENCES relay_messages(id) ON DELETE CASCADE,
  platform TEXT NOT NULL,          -- the chat the person reacted in
  chat TEXT NOT NULL,
  user_id TEXT NOT NULL,           -- "<platform>:<user id>"
  emoji TEXT NOT NULL,
  at REAL NOT NULL,
  PRIMARY KEY (message_id, platform, chat, user_id, emoji)
) WITHOUT ROWID;
