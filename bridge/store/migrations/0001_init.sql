-- Key/value settings that must survive restarts (e.g. Lamport clocks, watcher positions).
CREATE TABLE kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL DEFAULT (unixepoch())
);
