-- Version 10: operator incident reports (package report): the operators' reporting
-- profiles, every version of every report as received, the STIX revisions they are
-- filed as, and the analysts' actions. Instants are bigint nanoseconds as in version 1.

CREATE TABLE operator_profiles (
	org       text PRIMARY KEY,
	sectors   text[] NOT NULL,          -- national sector ids
	size_band text NOT NULL,
	consent   text NOT NULL,
	created   bigint,
	modified  bigint
);

CREATE TABLE reports (
	id         text PRIMARY KEY,
	operator   text NOT NULL,
	collection text NOT NULL,
	status     text NOT NULL,
	marking    text NOT NULL,
	versions   integer NOT NULL,
	created    bigint NOT NULL,
	modified   bigint NOT NULL,
	due        bigint,                  -- NULL when no deadline applies
	late       boolean NOT NULL
);
CREATE INDEX reports_operator ON reports (operator, created);
CREATE INDEX reports_created ON reports (created, id);
CREATE INDEX reports_due ON reports (due, id) WHERE due IS NOT NULL;

CREATE TABLE report_versions (
	report          text NOT NULL REFERENCES reports (id),
	version         integer NOT NULL,
	operator        text NOT NULL,
	author          text NOT NULL,
	idempotency_key text NOT NULL,
	received        bigint NOT NULL,
	body            bytea NOT NULL,
	receipt         bytea NOT NULL,
	PRIMARY KEY (report, version)
);
-- A retried submission finds its first receipt by its key.
CREATE UNIQUE INDEX report_versions_key ON report_versions (operator, idempotency_key) WHERE idempotency_key <> '';

CREATE TABLE report_revisions (
	report   text NOT NULL REFERENCES reports (id),
	modified bigint NOT NULL,
	objects  bytea NOT NULL,
	filed    boolean NOT NULL,
	PRIMARY KEY (report, modified)
);
CREATE INDEX report_revisions_unfiled ON report_revisions (modified) WHERE NOT filed;

CREATE TABLE report_events (
	report     text NOT NULL REFERENCES reports (id),
	seq        integer NOT NULL,
	at         bigint,
	actor      text NOT NULL,
	action     text NOT NULL,
	from_value text NOT NULL,
	to_value   text NOT NULL,
	collection text NOT NULL,
	text       text NOT NULL,
	PRIMARY KEY (report, seq)
);
