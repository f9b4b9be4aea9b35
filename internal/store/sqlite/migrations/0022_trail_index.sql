-- Version 22: the indexes of the audit trail are both filled after the records
-- are appended (trailindex.go), so that appending a record writes that record
-- alone, and both are rebuilt from the first record.
--
-- audit_disclosed_runs keeps, per object and per pass of the index, one row for
-- all the records of that pass that name the object: a collection polled again
-- and again no longer adds a row per object per read. last is the newest
-- record of the run; steps the others, newest first, as uvarint differences.
--
-- audit_tally counts records and their object versions per actor, minute, kind
-- and rule; it replaces the index on (actor, time_us), which every append had
-- to update.
DROP TABLE audit_disclosed;
CREATE TABLE audit_disclosed_runs (
    idh INTEGER NOT NULL,
    last INTEGER NOT NULL,
    steps BLOB,
    PRIMARY KEY (idh, last)
) STRICT, WITHOUT ROWID;

DROP INDEX audit_records_actor;
CREATE TABLE audit_tally (
    actor TEXT NOT NULL,
    minute INTEGER NOT NULL,
    kind TEXT NOT NULL,
    rule TEXT NOT NULL,
    records INTEGER NOT NULL,
    objects INTEGER NOT NULL,
    PRIMARY KEY (actor, minute, kind, rule)
) STRICT, WITHOUT ROWID;

ALTER TABLE audit_disclosed_upto RENAME TO audit_indexed_upto;
UPDATE audit_indexed_upto SET seq = 0;
