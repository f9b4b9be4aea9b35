-- Schema version 1 of the embedded store.
--
-- Times of accounts and statuses are TEXT in the fixed-width form
-- "2006-01-02T15:04:05.000000000Z" (sorts as the instants do), '' when zero.
-- date_added is INTEGER microseconds since the Unix epoch, unique in the whole store.

CREATE TABLE collections (
    cid         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    alias       TEXT UNIQUE,            -- NULL when unset
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    media_types TEXT NOT NULL,          -- JSON array of strings
    owner_org   TEXT NOT NULL,
    created_at  TEXT NOT NULL
);

-- Every version (id, version) of every object, stored once whatever the number of
-- collections that hold it.
CREATE TABLE objects (
    oid          INTEGER PRIMARY KEY,
    idh          INTEGER NOT NULL,      -- the first 8 bytes of SHA-256(id), the key of objects_idh
    id           TEXT NOT NULL,
    version      TEXT NOT NULL,         -- stix.Timestamp.Key() of modified, else created; '' when neither
    type         TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    created      TEXT NOT NULL,         -- as written, '' when absent
    modified     TEXT NOT NULL,         -- as written, '' when absent
    revoked      INTEGER NOT NULL,
    name         TEXT NOT NULL,
    description  TEXT NOT NULL,
    hash         BLOB NOT NULL,         -- SHA-256 of raw: tells a duplicate from a conflict
    raw          BLOB NOT NULL          -- the JSON exactly as received
);
-- Objects by id, through an 8-byte hash of it: STIX ids are random, so every batch
-- writes all over this index, and a small key keeps that to few pages. (id, version) is
-- unique; the single writer checks it (Put).
CREATE INDEX objects_idh ON objects (idh);

-- Full-text index of names and descriptions, over every stored version; searches keep
-- the latest version per collection at query time. External content: the text lives
-- in objects, rows are added and removed by the code that writes objects.
CREATE VIRTUAL TABLE objects_fts USING fts5 (
    name, description,
    content = 'objects', content_rowid = 'oid',
    tokenize = 'unicode61 remove_diacritics 2'
);

-- Collection membership: one row per object version in a collection. type is copied
-- from objects for the match[type] index. Every index here grows at its end while new
-- objects arrive (oid and date_added only increase), so a bulk import writes few pages;
-- the only index keyed by the random part of STIX ids is objects_version.
CREATE TABLE entries (
    cid        INTEGER NOT NULL REFERENCES collections (cid),
    date_added INTEGER NOT NULL,
    oid        INTEGER NOT NULL,        -- objects.oid; kept consistent by the writer
    type       TEXT NOT NULL,
    submitter  TEXT NOT NULL,
    is_last    INTEGER NOT NULL,        -- 1 for the newest version of the object in the collection
    PRIMARY KEY (cid, date_added)
) WITHOUT ROWID;
-- Duplicate checks, match[id] and first/last (through objects_version), delete, and
-- "is this version in any collection?".
CREATE UNIQUE INDEX entries_object ON entries (oid, cid);
-- match[type] pages in date_added order.
CREATE INDEX entries_type ON entries (cid, type, date_added);

-- The last date_added given, so that the next is strictly greater even after deletes,
-- restarts, or a wall clock that stepped back.
CREATE TABLE clock (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    last INTEGER NOT NULL
);
INSERT INTO clock (one, last) VALUES (1, 0);

CREATE TABLE statuses (
    id         TEXT PRIMARY KEY,
    collection TEXT NOT NULL,
    owner      TEXT NOT NULL,
    done       INTEGER NOT NULL,
    requested  TEXT NOT NULL,
    total      INTEGER NOT NULL,
    details    TEXT NOT NULL            -- JSON: successes, failures, pendings
);
CREATE INDEX statuses_requested ON statuses (requested);

CREATE TABLE organisations (
    id      TEXT PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    nation  TEXT NOT NULL,
    kind    TEXT NOT NULL,
    sectors TEXT NOT NULL               -- JSON array of strings
);

CREATE TABLE users (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    org              TEXT NOT NULL REFERENCES organisations (id),
    role             TEXT NOT NULL,
    cert_fingerprint TEXT NOT NULL,
    nationality      TEXT NOT NULL DEFAULT '',
    clearance        TEXT NOT NULL DEFAULT '',
    created_at       TEXT NOT NULL,
    disabled_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX users_cert ON users (cert_fingerprint) WHERE cert_fingerprint <> '';
CREATE INDEX users_org ON users (org);

CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    hash       BLOB NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    revoked_at TEXT NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_id);

CREATE TABLE grants (
    collection TEXT NOT NULL,
    subject    TEXT NOT NULL,
    can_read   INTEGER NOT NULL,
    can_write  INTEGER NOT NULL,
    PRIMARY KEY (collection, subject)
) WITHOUT ROWID;
