-- Version 23: objects by id through two tables instead of the index objects_idh.
--
-- STIX ids are random, so every batch of new objects wrote all over objects_idh:
-- at a million objects a batch of 500 dirtied a page of it per object, and a
-- bulk import spent a third of the single writer's time on it. New objects now
-- go to object_ids_new, which stays small (about a hundred pages), and are moved
-- to object_ids in one sorted pass once enough have gathered (Put): the large
-- index is then written a page at a time for many objects, not one. A lookup by
-- id reads both, through object_ids_all. clock.ids_merged is the last oid when
-- the last such pass ran.
CREATE TABLE object_ids (
    idh INTEGER NOT NULL,
    oid INTEGER NOT NULL,
    PRIMARY KEY (idh, oid)
) WITHOUT ROWID;

CREATE TABLE object_ids_new (
    idh INTEGER NOT NULL,
    oid INTEGER NOT NULL,
    PRIMARY KEY (idh, oid)
) WITHOUT ROWID;

CREATE VIEW object_ids_all AS
    SELECT idh, oid FROM object_ids UNION ALL SELECT idh, oid FROM object_ids_new;

INSERT INTO object_ids (idh, oid) SELECT idh, oid FROM objects ORDER BY idh, oid;
DROP INDEX objects_idh;

ALTER TABLE clock ADD COLUMN ids_merged INTEGER NOT NULL DEFAULT 0;
UPDATE clock SET ids_merged = last_oid;
