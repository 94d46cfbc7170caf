-- Platform profile photos (Telegram), re-encoded by the bridge and served as avatars on the
-- platforms that show one per message. One row per account (sha256 NULL: no photo), and the
-- images by content hash; the images are bounded in total bytes (oldest used go first).
CREATE TABLE profile_photos (
  platform TEXT NOT NULL,
  user_id TEXT NOT NULL,
  sha256 TEXT,
  fetched_at REAL NOT NULL,
  PRIMARY KEY (platform, user_id)
) WITHOUT ROWID;
CREATE INDEX profile_photos_sha ON profile_photos(sha256);

CREATE TABLE profile_photo_images (
  sha256 TEXT PRIMARY KEY,
  png BLOB NOT NULL,
  used_at REAL NOT NULL
);
CREATE INDEX profile_photo_images_used ON profile_photo_images(used_at);
