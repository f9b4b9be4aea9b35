-- Version 24: the indexes of the audit trail move to a file of their own next
-- to the database (trailindex.go), written through its own connection, so that
-- indexing never holds the database's single writer. They are derived: the new
-- file is filled from the first record.
DROP TABLE IF EXISTS audit_disclosed_runs;
DROP TABLE IF EXISTS audit_tally;
DROP TABLE IF EXISTS audit_indexed_upto;
