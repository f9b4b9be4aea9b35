-- Version 24: the disclosures that name an object are found through a GIN index of
-- 64-bit keys of the disclosed object ids (store.DisclosedKey, computed by
-- quadshare) rather than of the ids themselves. Every page read through the gate
-- appends a disclosure naming up to 1,000 objects; indexing a key of 8 bytes costs
-- less than half of indexing a text id of some fifty compared by collation, which
-- was a quarter of the server's time during a paginated walk. The reader checks
-- the ids, since two ids may share a key. Records appended before this version
-- have no keys and stay in an index of their ids.
ALTER TABLE audit_records ADD COLUMN IF NOT EXISTS object_keys bigint[];
DROP INDEX IF EXISTS audit_records_disclosed;
CREATE INDEX IF NOT EXISTS audit_records_disclosed_ids ON audit_records USING gin (object_ids)
	WHERE kind = 'disclosure' AND object_keys IS NULL;
CREATE INDEX IF NOT EXISTS audit_records_disclosed_keys ON audit_records USING gin (object_keys)
	WHERE kind = 'disclosure';
