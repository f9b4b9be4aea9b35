-- Version 21: indexes of the audit trail for the web pages. The disclosures that
-- name an object (an object's page shows who received it) are found through a GIN
-- index of the disclosed object ids; a recipient's or sender's records of a period
-- (the traffic with each partner) through (actor, time_us).
CREATE INDEX audit_records_disclosed ON audit_records USING gin (object_ids) WHERE kind = 'disclosure';
CREATE INDEX audit_records_actor ON audit_records (actor, time_us);
