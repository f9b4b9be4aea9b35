-- Version 21: indexes of the audit trail for the web pages. audit_disclosed lists,
-- for each object, by the hash of its id (which no deletion changes), the
-- disclosure records that name it (an object's page shows who received it). It is
-- filled after the records are appended, off the path of the read that discloses
-- (disclosed.go), up to audit_disclosed_upto.seq: from the first record, so records
-- written before this version are indexed too. audit_records_actor finds a recipient's or sender's
-- records of a period (the traffic with each partner).
CREATE TABLE audit_disclosed (
    idh INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (idh, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_disclosed_upto (
    one INTEGER PRIMARY KEY CHECK (one = 1),
    seq INTEGER NOT NULL
) STRICT;
INSERT INTO audit_disclosed_upto (one, seq) VALUES (1, 0);

CREATE INDEX audit_records_actor ON audit_records (actor, time_us);
