-- Version 22: the disclosure index keeps, per object and per pass of the index,
-- one row for all the records of that pass that name the object (disclosed.go):
-- a collection polled again and again no longer adds a row per object per read.
-- last is the newest record of the run; steps the others, newest first, as
-- uvarint differences. The index is rebuilt from the first record.
DROP TABLE audit_disclosed;
CREATE TABLE audit_disclosed_runs (
    idh INTEGER NOT NULL,
    last INTEGER NOT NULL,
    steps BLOB,
    PRIMARY KEY (idh, last)
) STRICT, WITHOUT ROWID;
UPDATE audit_disclosed_upto SET seq = 0;
