-- Version 2: background jobs, leased so that each runs once across processes, and taken
-- over when the process running one dies (its lease expires). Times are the database's
-- clock, so the processes' clocks need not agree.

CREATE TABLE jobs (
	id          text PRIMARY KEY,
	kind        text NOT NULL,
	payload     bytea NOT NULL,
	run_at      timestamptz NOT NULL,
	attempts    integer NOT NULL DEFAULT 0,
	leased_by   text,                  -- NULL when not leased
	lease_until timestamptz,
	done_at     timestamptz,           -- NULL until completed
	last_error  text NOT NULL DEFAULT '',
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX jobs_ready ON jobs (kind, run_at) WHERE done_at IS NULL;
