-- Version 3: the audit trail (package audit, docs/audit.md).
--
-- One row per record, one column per field, so that the trail can be queried. time_us
-- is microseconds since the Unix epoch; the object references of a record are two
-- arrays of the same length; detail is the canonical JSON text ('' when none), kept as
-- text rather than jsonb so that it comes back byte for byte (cast it to query it).
CREATE TABLE audit_records (
	seq             bigint PRIMARY KEY,
	prev            bytea NOT NULL,
	hash            bytea NOT NULL,
	kind            text NOT NULL,
	time_us         bigint NOT NULL,
	actor           text NOT NULL,
	subject         text NOT NULL,
	rule            text NOT NULL,
	object_ids      text[] NOT NULL,
	object_versions text[] NOT NULL,
	detail          text NOT NULL
);

-- Signed statements "record seq has hash h", at most one per seq.
CREATE TABLE audit_checkpoints (
	seq       bigint PRIMARY KEY,
	hash      bytea NOT NULL,
	time_us   bigint NOT NULL,
	signature bytea NOT NULL
);

-- The last seq and hash. Every transaction that appends locks this row first
-- (SELECT ... FOR UPDATE), which serialises appends across processes: locking the
-- last record would not stop a concurrent insert after it. Transactions that also
-- take the clock's lock (Put, Delete) take it before this one.
CREATE TABLE audit_head (
	id   integer PRIMARY KEY CHECK (id = 1),
	seq  bigint NOT NULL,
	hash bytea NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

-- Append-only: these refuse a change by mistake. They stop no one who owns the tables
-- (who can disable them); the hash chain and the signed checkpoints show what such a
-- person changed.
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
CREATE TRIGGER audit_records_append_only BEFORE UPDATE OR DELETE ON audit_records
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_records_no_truncate BEFORE TRUNCATE ON audit_records
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
	FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
	FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
