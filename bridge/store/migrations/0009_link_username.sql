-- The chat username (Telegram @username, Discord user name) next to the display name of a
-- wallet link, so that "/tip @bob" and "/whois @bob" find the account whose display name is
-- "Bobby". NULL when the platform has none or the link predates this column.
ALTER TABLE wallet_links ADD COLUMN username TEXT;
-- Links made within the last day still have their spent /link token: take the username there.
UPDATE wallet_links SET username = (
  SELECT t.username FROM link_tokens AS t
  WHERE t.platform = wallet_links.platform AND t.user_id = wallet_links.user_id
    AND t.used_at IS NOT NULL AND t.username IS NOT NULL
  ORDER BY t.used_at DESC LIMIT 1
);
CREATE INDEX wallet_links_username ON wallet_links(lower(username));
