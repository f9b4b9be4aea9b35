-- Operator incident reports (package report): the operators' reporting profiles,
-- every version of every report as received, the STIX revisions they are filed as,
-- and the analysts' actions. Times are TEXT as in 0001 ('' when zero).

CREATE TABLE operator_profiles (
    org       TEXT PRIMARY KEY,
    sectors   TEXT NOT NULL,            -- JSON array of national sector ids
    size_band TEXT NOT NULL,
    consent   TEXT NOT NULL,
    created   TEXT NOT NULL,
    modified  TEXT NOT NULL
);

CREATE TABLE reports (
    id         TEXT PRIMARY KEY,
    operator   TEXT NOT NULL,
    collection TEXT NOT NULL,
    status     TEXT NOT NULL,
    marking    TEXT NOT NULL,
    versions   INTEGER NOT NULL,
    created    TEXT NOT NULL,
    modified   TEXT NOT NULL,
    due        TEXT NOT NULL,           -- '' when no deadline applies
    late       INTEGER NOT NULL
);
CREATE INDEX reports_operator ON reports (operator, created);
CREATE INDEX reports_created ON reports (created, id);
CREATE INDEX reports_due ON reports (due, id) WHERE due <> '';

CREATE TABLE report_versions (
    report          TEXT NOT NULL REFERENCES reports (id),
    version         INTEGER NOT NULL,
    operator        TEXT NOT NULL,
    author          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    received        TEXT NOT NULL,
    body            BLOB NOT NULL,
    receipt         BLOB NOT NULL,
    PRIMARY KEY (report, version)
) WITHOUT ROWID;
-- A retried submission finds its first receipt by its key.
CREATE UNIQUE INDEX report_versions_key ON report_versions (operator, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE report_revisions (
    report   TEXT NOT NULL REFERENCES reports (id),
    modified TEXT NOT NULL,
    objects  BLOB NOT NULL,
    filed    INTEGER NOT NULL,
    PRIMARY KEY (report, modified)
) WITHOUT ROWID;
CREATE INDEX report_revisions_unfiled ON report_revisions (modified) WHERE filed = 0;

CREATE TABLE report_events (
    report     TEXT NOT NULL REFERENCES reports (id),
    seq        INTEGER NOT NULL,
    at         TEXT NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    from_value TEXT NOT NULL,
    to_value   TEXT NOT NULL,
    collection TEXT NOT NULL,
    text       TEXT NOT NULL,
    PRIMARY KEY (report, seq)
) WITHOUT ROWID;
