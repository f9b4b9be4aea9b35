-- Version 1: collections, object versions and their entries in collections, statuses,
-- accounts, and the clock that orders date_added.
--
-- Instants that callers set (created_at, expires_at, ...) are bigint nanoseconds since the
-- Unix epoch, NULL when unset, so that they come back exactly as written. date_added is
-- bigint microseconds, the precision TAXII clients page with.

CREATE TABLE collections (
	id          text PRIMARY KEY,
	alias       text UNIQUE,            -- NULL when none
	title       text NOT NULL,
	description text NOT NULL,
	media_types text[] NOT NULL,
	owner_org   text NOT NULL,
	created_at  bigint
);

-- One row per object version (id, version), whatever collections hold it.
CREATE TABLE versions (
	id           text NOT NULL,
	ver          text COLLATE "C" NOT NULL, -- stix.Timestamp.Key() of the version; '' when none
	type         text NOT NULL,
	spec_version text NOT NULL,
	created      text NOT NULL,          -- as written; '' when absent
	modified     text NOT NULL,
	revoked      boolean NOT NULL,
	name         text NOT NULL,
	description  text NOT NULL,
	raw          bytea NOT NULL,
	digest       bytea NOT NULL,         -- SHA-256 of the canonical JSON: same meaning, same digest
	tsv          tsvector GENERATED ALWAYS AS (to_tsvector('simple', name || ' ' || description)) STORED,
	PRIMARY KEY (id, ver)
);
CREATE INDEX versions_tsv ON versions USING gin (tsv);

-- One row per object version in a collection. type and spec_version are copied from
-- versions so that a filtered page reads one index in date_added order. No foreign
-- keys: their per-row checks would lock every version row an ingest touches; Put and
-- Delete keep entries and versions consistent under the clock's lock instead, and
-- collections are never removed.
CREATE TABLE entries (
	collection   text NOT NULL,
	id           text NOT NULL,
	ver          text COLLATE "C" NOT NULL,
	type         text NOT NULL,
	spec_version text NOT NULL,
	date_added   bigint NOT NULL,
	submitter    text NOT NULL,
	PRIMARY KEY (collection, id, ver)
);
CREATE UNIQUE INDEX entries_date_added ON entries (collection, date_added);
CREATE INDEX entries_type ON entries (collection, type, date_added);
CREATE INDEX entries_version ON entries (id, ver);

-- The single row that hands out date_added. Every transaction that adds entries updates
-- it last thing before commit, so its row lock makes those commits happen one at a time
-- in date_added order: a reader never sees an entry before an earlier-dated one is
-- visible (see docs/scaling.md).
CREATE TABLE clock (
	id   integer PRIMARY KEY CHECK (id = 1),
	last bigint NOT NULL
);
INSERT INTO clock (id, last) VALUES (1, 0);

CREATE TABLE statuses (
	id                text PRIMARY KEY,
	collection        text NOT NULL,
	owner             text NOT NULL,
	done              boolean NOT NULL,
	request_timestamp bigint,
	total             integer NOT NULL,
	successes         jsonb NOT NULL,
	failures          jsonb NOT NULL,
	pendings          jsonb NOT NULL
);
CREATE INDEX statuses_request_timestamp ON statuses (request_timestamp);

CREATE TABLE organisations (
	id      text PRIMARY KEY,
	name    text NOT NULL UNIQUE,
	nation  text NOT NULL,
	kind    text NOT NULL,
	sectors text[] NOT NULL
);

CREATE TABLE users (
	id               text PRIMARY KEY,
	name             text NOT NULL UNIQUE,
	org              text NOT NULL REFERENCES organisations (id),
	role             text NOT NULL,
	cert_fingerprint text,               -- NULL when none
	created_at       bigint,
	disabled_at      bigint
);
CREATE UNIQUE INDEX users_cert_fingerprint ON users (cert_fingerprint);
CREATE INDEX users_org ON users (org);

CREATE TABLE tokens (
	id         text PRIMARY KEY,
	user_id    text NOT NULL REFERENCES users (id),
	hash       bytea NOT NULL,
	created_at bigint,
	expires_at bigint,
	revoked_at bigint
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE grants (
	collection text NOT NULL,
	subject    text NOT NULL,
	can_read   boolean NOT NULL,
	can_write  boolean NOT NULL,
	PRIMARY KEY (collection, subject)
);
