-- A new message enters the id map as the origin in its chat with the same statement that
-- stores it (the router used to run a second one inside its transaction).
CREATE TRIGGER relay_messages_origin_on_insert
AFTER INSERT ON relay_messages
BEGIN
  INSERT INTO relay_native_ids(platform, chat, native_id, message_id, origin)
  VALUES (new.source_platform, new.source_chat, new.source_native_id, new.id, 1);
END;
