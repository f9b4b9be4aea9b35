-- Version 20: federation. Partner nodes, the outbox of object versions queued for each
-- (already released by the sharing gate and signed), and per-peer cursors (a walk of
-- each shared collection, the pull position). Times are unix microseconds, 0 when zero.
-- A peer's work is leased (lease_holder, lease_until) so that on a shared database each
-- peer is served by one process at a time, and by another once that one dies.

CREATE TABLE peers (
	name          TEXT PRIMARY KEY,
	nation        TEXT NOT NULL,
	url           TEXT NOT NULL,
	fingerprint   TEXT NOT NULL UNIQUE,
	public_key    BLOB NOT NULL,
	created_at    INTEGER NOT NULL,
	queued        INTEGER NOT NULL DEFAULT 0,
	pushed        INTEGER NOT NULL DEFAULT 0,
	pulled        INTEGER NOT NULL DEFAULT 0,
	rejected      INTEGER NOT NULL DEFAULT 0,
	conflicts     INTEGER NOT NULL DEFAULT 0,
	last_seq      INTEGER NOT NULL DEFAULT 0,  -- the last outbox seq assigned
	pushed_seq    INTEGER NOT NULL DEFAULT 0,  -- the last outbox seq the peer acknowledged
	last_success  INTEGER NOT NULL DEFAULT 0,
	last_error_at INTEGER NOT NULL DEFAULT 0,
	last_error    TEXT NOT NULL DEFAULT '',
	lease_holder  TEXT NOT NULL DEFAULT '',
	lease_until   INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE peer_cursors (
	peer  TEXT NOT NULL REFERENCES peers (name) ON DELETE CASCADE,
	key   TEXT NOT NULL,
	value TEXT NOT NULL,
	PRIMARY KEY (peer, key)
);

CREATE TABLE outbox (
	peer      TEXT NOT NULL REFERENCES peers (name) ON DELETE CASCADE,
	seq       INTEGER NOT NULL,
	object_id TEXT NOT NULL,
	version   TEXT NOT NULL,
	queued_at INTEGER NOT NULL,
	raw       BLOB NOT NULL,
	PRIMARY KEY (peer, seq),
	UNIQUE (peer, object_id, version)
);
