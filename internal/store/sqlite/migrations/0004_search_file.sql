-- Schema version 4: the full-text index moves to a file of its own, indexed after each
-- commit (fts.go), and rebuilt there from the objects table.

DROP TABLE objects_fts;

-- The last oid given: oids are never reused, so that the search file's watermark (every
-- oid up to it is indexed) stays true after a delete.
ALTER TABLE clock ADD COLUMN last_oid INTEGER NOT NULL DEFAULT 0;
UPDATE clock SET last_oid = (SELECT coalesce(max(oid), 0) FROM objects);

-- Objects deleted from the database whose text the search file may still hold: the
-- indexer removes them there, then here.
CREATE TABLE search_deleted (oid INTEGER PRIMARY KEY);
