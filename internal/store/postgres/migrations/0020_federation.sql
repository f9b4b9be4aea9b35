-- Version 20: federation. Partner nodes, the outbox of object versions queued for each
-- (already released by the sharing gate and signed), and per-peer cursors (a walk of
-- each shared collection, the pull position). Times are unix microseconds, 0 when zero.
-- A peer's work is leased (lease_holder, lease_until) so that on a shared database each
-- peer is served by one process at a time, and by another once that one dies.

CREATE TABLE peers (
	name          text PRIMARY KEY,
	nation        text NOT NULL,
	url           text NOT NULL,
	fingerprint   text NOT NULL UNIQUE,
	public_key    bytea NOT NULL,
	created_at    bigint NOT NULL,
	queued        bigint NOT NULL DEFAULT 0,
	pushed        bigint NOT NULL DEFAULT 0,
	pulled        bigint NOT NULL DEFAULT 0,
	rejected      bigint NOT NULL DEFAULT 0,
	conflicts     bigint NOT NULL DEFAULT 0,
	last_seq      bigint NOT NULL DEFAULT 0,  -- the last outbox seq assigned
	pushed_seq    bigint NOT NULL DEFAULT 0,  -- the last outbox seq the peer acknowledged
	last_success  bigint NOT NULL DEFAULT 0,
	last_error_at bigint NOT NULL DEFAULT 0,
	last_error    text NOT NULL DEFAULT '',
	lease_holder  text NOT NULL DEFAULT '',
	lease_until   bigint NOT NULL DEFAULT 0
);

CREATE TABLE peer_cursors (
	peer  text NOT NULL REFERENCES peers (name) ON DELETE CASCADE,
	key   text NOT NULL,
	value text NOT NULL,
	PRIMARY KEY (peer, key)
);

CREATE TABLE outbox (
	peer      text NOT NULL REFERENCES peers (name) ON DELETE CASCADE,
	seq       bigint NOT NULL,
	object_id text NOT NULL,
	version   text NOT NULL,
	queued_at bigint NOT NULL,
	raw       bytea NOT NULL,
	PRIMARY KEY (peer, seq),
	UNIQUE (peer, object_id, version)
);
