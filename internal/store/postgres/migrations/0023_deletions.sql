-- Version 23: the clock row counts the Deletes that removed entries, so that a
-- process holding entries it read ahead can tell whether another process deleted
-- some since (Store.Deletions).
ALTER TABLE clock ADD COLUMN IF NOT EXISTS deletions bigint NOT NULL DEFAULT 0;
