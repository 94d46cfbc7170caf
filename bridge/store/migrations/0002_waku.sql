-- The embedded Waku node's message archive, queried with store v3 semantics.
-- id is the insertion order: count-based retention deletes the lowest ids, so a sender's
-- timestamp (which it chooses freely) never decides what is kept.
CREATE TABLE waku_messages (
  id INTEGER PRIMARY KEY,
  hash BLOB NOT NULL UNIQUE,
  pubsub_topic TEXT NOT NULL,
  content_topic TEXT NOT NULL,
  payload BLOB NOT NULL,
  version INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  meta BLOB,
  rate_limit_proof BLOB,
  received_at INTEGER NOT NULL
);
-- Store v3 orders and pages by (timestamp, hash), optionally within one pubsub topic.
CREATE INDEX waku_messages_time ON waku_messages (timestamp, hash);
CREATE INDEX waku_messages_topic_time ON waku_messages (pubsub_topic, timestamp, hash);
-- Age-based retention.
CREATE INDEX waku_messages_received ON waku_messages (received_at);
