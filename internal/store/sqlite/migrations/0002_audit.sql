-- Schema version 2: the audit trail (package audit, docs/audit.md).
--
-- One row per record, one column per field, so that the trail can be queried
-- ("what went to peer:jp last week"). time_us is microseconds since the Unix epoch;
-- objects lists the [id, version] pairs, '' when none (a JSON array in rows written
-- before the compact form of refs.go, which later rows use); detail is the
-- canonical JSON object, '' when none. Records are appended in the transaction of
-- the action they record, by the single writer, which chains after the last row
-- (the end of the seq index: no head row to keep up to date).
CREATE TABLE audit_records (
    seq     INTEGER PRIMARY KEY,
    prev    BLOB NOT NULL,
    hash    BLOB NOT NULL,
    kind    TEXT NOT NULL,
    time_us INTEGER NOT NULL,
    actor   TEXT NOT NULL,
    subject TEXT NOT NULL,
    rule    TEXT NOT NULL,
    objects TEXT NOT NULL,
    detail  TEXT NOT NULL
) STRICT;

-- Signed statements "record seq has hash h", at most one per seq.
CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      BLOB NOT NULL,
    time_us   INTEGER NOT NULL,
    signature BLOB NOT NULL
) STRICT;

-- Append-only: these refuse a change by mistake. They stop no one with write
-- access to the file (who can drop them); the hash chain and the signed
-- checkpoints show what such a person changed.
CREATE TRIGGER audit_records_no_update BEFORE UPDATE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_records_no_delete BEFORE DELETE ON audit_records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
