-- Version 3: background jobs (asynchronous TAXII additions), kept so that they
-- survive a restart and leased so that each runs once. Times are microseconds
-- since 1970 by this process's clock.

CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    payload     BLOB NOT NULL,
    run_at      INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    leased_by   TEXT,             -- NULL when not leased
    lease_until INTEGER,
    done_at     INTEGER,          -- NULL until completed
    last_error  TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (kind, run_at) WHERE done_at IS NULL;
