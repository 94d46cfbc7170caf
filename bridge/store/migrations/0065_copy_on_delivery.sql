-- A delivered send records its copy in the id map in the same statement (the outbox used to
-- run a second one): a delivery's outcome is one UPDATE, which SQLite can commit on its own
-- in one round trip. A newer copy of the message in that chat replaces the older one.
CREATE TRIGGER relay_outbox_copy_on_delivery
AFTER UPDATE OF state ON relay_outbox
WHEN new.state = 'delivered' AND new.kind = 'send' AND new.native_id IS NOT NULL
BEGIN
  INSERT OR REPLACE INTO relay_native_ids(platform, chat, native_id, message_id, origin)
  VALUES (new.target_platform, new.target_chat, new.native_id, new.message_id, 0);
END;
