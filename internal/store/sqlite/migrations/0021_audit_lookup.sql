-- Version 21: indexes of the audit trail for the web pages. audit_disclosed lists,
-- for each object id, the disclosure records that name it (an object's page shows
-- who received it); it is filled by the writer in the transaction that appends a
-- disclosure, and here from the records already there. audit_records_actor finds a
-- recipient's or sender's records of a period (the traffic with each partner).
CREATE TABLE audit_disclosed (
    object_id TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    PRIMARY KEY (object_id, seq)
) STRICT, WITHOUT ROWID;

INSERT OR IGNORE INTO audit_disclosed (object_id, seq)
    SELECT j.value ->> 0, r.seq FROM audit_records r, json_each(r.objects) j
    WHERE r.kind = 'disclosure' AND r.objects <> '';

CREATE INDEX audit_records_actor ON audit_records (actor, time_us);
