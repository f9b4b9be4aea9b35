-- Version 21: indexes of the audit trail for the web pages. audit_disclosed lists,
-- for each object, the disclosure records that name it (an object's page shows who
-- received it). The object is keyed by the oid of its first stored version rather
-- than by its id: lists and walks release objects in the order they were stored, so
-- a page of 100 disclosed objects adds rows next to each other, a few pages of the
-- B-tree, where random ids would write a hundred. The writer fills it in the
-- transaction that appends a disclosure; here it is filled from the records already
-- there whose objects column is JSON, through a temporary index of the objects by id
-- (a column in another form is not read here: it is skipped, not an error). audit_records_actor finds a
-- recipient's or sender's records of a period (the traffic with each partner).
CREATE TABLE audit_disclosed (
    oid INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (oid, seq)
) STRICT, WITHOUT ROWID;

CREATE INDEX audit_backfill_objects_id ON objects (id, oid);
INSERT OR IGNORE INTO audit_disclosed (oid, seq)
    SELECT oid, seq FROM (
        SELECT (SELECT min(o.oid) FROM objects o WHERE o.id = j.value ->> 0) AS oid, r.seq AS seq
        FROM audit_records r,
            json_each(CASE WHEN substr(r.objects, 1, 1) = '[' THEN r.objects ELSE '[]' END) j
        WHERE r.kind = 'disclosure')
    WHERE oid IS NOT NULL;
DROP INDEX audit_backfill_objects_id;

CREATE INDEX audit_records_actor ON audit_records (actor, time_us);
