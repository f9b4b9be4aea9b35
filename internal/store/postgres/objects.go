package postgres

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// Bounds on what one call may ask for (as in the embedded store).
const (
	maxPut        = 100_000 // objects in one Put
	maxLimit      = 10_000  // entries in one page or search
	defaultLimit  = 100     // when a query gives no limit
	maxFilterList = store.MaxFilterValues
)

func clampLimit(n int) int {
	if n <= 0 {
		return defaultLimit
	}
	return min(n, maxLimit)
}

// CreateCollection adds c; ErrExists when its id or alias is taken, as an id or as an
// alias.
func (s *Store) CreateCollection(ctx context.Context, c store.Collection) error {
	if c.ID == "" {
		return errors.New("postgres: create collection: empty id")
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	// SERIALIZABLE, because the unique keys check an id against ids and an alias
	// against aliases, and this transaction's check of an id against aliases (and
	// the reverse) would otherwise miss a concurrent insert: both could commit.
	err := s.inTxAt(ctx, pgx.Serializable, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO collections (id, alias, title, description, media_types, owner_org, created_at)
			SELECT $1, $2, $3, $4, $5, $6, $7
			WHERE NOT EXISTS (SELECT 1 FROM collections WHERE id = $2 OR alias = $1)`,
			c.ID, nullString(c.Alias), c.Title, c.Description, nonNil(c.MediaTypes), c.OwnerOrg, nanos(c.CreatedAt))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrExists
		}
		e, err := store.CollectionCreated(ctx, time.Now(), c)
		return s.record(ctx, tx, e, err)
	})
	if isCode(err, codeUniqueViolation) || errors.Is(err, store.ErrExists) {
		return fmt.Errorf("postgres: create collection %s: %w", c.ID, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("postgres: create collection %s: %w", c.ID, err)
	}
	return nil
}

const collectionColumns = `id, coalesce(alias, ''), title, description, media_types, owner_org, created_at`

func scanCollection(row pgx.Row) (store.Collection, error) {
	var c store.Collection
	var created *int64
	err := row.Scan(&c.ID, &c.Alias, &c.Title, &c.Description, &c.MediaTypes, &c.OwnerOrg, &created)
	c.CreatedAt = fromNanos(created)
	if len(c.MediaTypes) == 0 {
		c.MediaTypes = nil
	}
	return c, err
}

// Collection returns the collection with the given id, else with that alias.
func (s *Store) Collection(ctx context.Context, idOrAlias string) (store.Collection, error) {
	c, err := scanCollection(s.pool.QueryRow(ctx, `SELECT `+collectionColumns+` FROM collections
		WHERE id = $1 OR alias = $1 ORDER BY id = $1 DESC LIMIT 1`, idOrAlias))
	if err != nil {
		return store.Collection{}, notFound(err, fmt.Sprintf("collection %q", idOrAlias))
	}
	return c, nil
}

// Collections returns every collection, oldest first.
func (s *Store) Collections(ctx context.Context) ([]store.Collection, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+collectionColumns+` FROM collections ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("postgres: collections: %w", err)
	}
	cs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Collection, error) { return scanCollection(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: collections: %w", err)
	}
	return cs, nil
}

// digest tells a duplicate from a conflict at once: the SHA-256 of the JSON exactly
// as received, as the embedded store keeps it. Where digests differ, the canonical
// forms decide (stix.SameMeaning).
func digest(raw []byte) []byte {
	sum := sha256.Sum256(raw)
	return sum[:]
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// collectionID returns the id of the collection with this id, else with this alias;
// an error wrapping store.ErrNotFound when there is none. Collections are never
// removed and their ids and aliases never change, so a name once resolved is kept (in
// memory, at most two per collection) and later calls save a round trip.
func (s *Store) collectionID(ctx context.Context, q querier, idOrAlias string) (string, error) {
	if id, ok := s.collectionIDs.Load(idOrAlias); ok {
		return id.(string), nil
	}
	var id string
	err := q.QueryRow(ctx, `SELECT id FROM collections WHERE id = $1
		UNION ALL SELECT id FROM collections WHERE alias = $1 LIMIT 1`, idOrAlias).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", fmt.Errorf("collection %q: %w", idOrAlias, store.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("collection %q: %w", idOrAlias, err)
	}
	s.collectionIDs.Store(idOrAlias, id)
	return id, nil
}

type versionKey struct{ id, ver string }

// Put adds objs to a collection in one transaction (see store.Objects). Each new entry
// gets its date_added from the clock row, which the transaction updates last thing
// before commit: see docs/scaling.md for why that keeps date_added gap-free across
// processes.
func (s *Store) Put(ctx context.Context, collection, submitter string, objs []stix.Object) ([]store.PutResult, error) {
	if len(objs) > maxPut {
		return nil, fmt.Errorf("postgres: put: %d objects in one call, at most %d", len(objs), maxPut)
	}
	keys := make([]versionKey, len(objs))
	digests := make([][]byte, len(objs))
	for i := range objs {
		o := &objs[i]
		if o.ID == "" || o.Type == "" || len(o.Raw) == 0 {
			return nil, fmt.Errorf("postgres: put: object %d has no id, type or JSON", i)
		}
		keys[i] = versionKey{o.ID, o.Version().Key()}
		digests[i] = digest(o.Raw)
	}
	var results []store.PutResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		results, err = s.putTx(ctx, tx, collection, submitter, objs, keys, digests)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: put into %s: %w", collection, err)
	}
	return results, nil
}

func (s *Store) putTx(ctx context.Context, tx pgx.Tx, collection, submitter string, objs []stix.Object,
	keys []versionKey, digests [][]byte) ([]store.PutResult, error) {
	collection, err := s.collectionID(ctx, tx, collection)
	if err != nil {
		return nil, err
	}
	results := make([]store.PutResult, len(objs))

	// first[k] is the index of the first object in the batch with version key k; later
	// ones with the same key are settled against it at the end.
	first := make(map[versionKey]int, len(objs))
	var uniq []int
	for i, k := range keys {
		if _, ok := first[k]; !ok {
			first[k] = i
			uniq = append(uniq, i)
		}
	}

	// 1. Which versions exist already? The rest are written with COPY. Should another
	// transaction commit one of them in between, COPY fails on the primary key and the
	// whole transaction runs again (errRaceLost), this time finding it.
	uniqIDs, uniqVers := make([]string, len(uniq)), make([]string, len(uniq))
	for j, i := range uniq {
		uniqIDs[j], uniqVers[j] = keys[i].id, keys[i].ver
	}
	// vid holds the number of each version: its own when it exists, else a fresh one
	// from the sequence (numbers lost to a rollback leave harmless gaps).
	vid := make(map[versionKey]int64, len(uniq))
	existed := make(map[versionKey]bool)
	var k versionKey
	var n int64
	var old bool
	rows, err := tx.Query(ctx, `
		SELECT k.id, k.ver, v.vid IS NOT NULL, coalesce(v.vid, nextval('versions_vid_seq'))
		FROM unnest($1::text[], $2::text[]) AS k(id, ver)
		LEFT JOIN versions v ON v.id = k.id AND v.ver = k.ver`, uniqIDs, uniqVers)
	if err != nil {
		return nil, fmt.Errorf("read versions: %w", err)
	}
	if _, err := pgx.ForEachRow(rows, []any{&k.id, &k.ver, &old, &n}, func() error {
		existed[k], vid[k] = old, n
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read versions: %w", err)
	}
	var newRows [][]any
	var oldIDs, oldVers []string
	for _, i := range uniq {
		if existed[keys[i]] {
			oldIDs, oldVers = append(oldIDs, keys[i].id), append(oldVers, keys[i].ver)
			continue
		}
		o := &objs[i]
		newRows = append(newRows, []any{vid[keys[i]], o.ID, keys[i].ver, o.Type, o.SpecVersion, o.Created.String(),
			o.Modified.String(), o.Revoked, o.Name, o.Description, o.Raw, digests[i], lexemes(o.Name, o.Description)})
	}
	if len(newRows) > 0 {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"versions"},
			[]string{"vid", "id", "ver", "type", "spec_version", "created", "modified", "revoked", "name", "description", "raw", "digest", "tsv"},
			pgx.CopyFromRows(newRows))
		if isCode(err, codeUniqueViolation) {
			return nil, fmt.Errorf("copy versions: %w: %w", errRaceLost, err)
		}
		if err != nil {
			return nil, fmt.Errorf("copy versions: %w", err)
		}
	}

	// 2. Take the clock's row lock. From here to commit, no other transaction adds or
	// removes entries, or removes versions (Delete takes the same lock), so what this
	// one reads now stays true until it commits.
	var last int64
	if err := tx.QueryRow(ctx, `SELECT last FROM clock WHERE id = 1 FOR UPDATE`).Scan(&last); err != nil {
		return nil, fmt.Errorf("lock clock: %w", err)
	}

	// 3. Versions that existed: a different digest is a conflict; the same one may
	// already be in this collection.
	conflict := make(map[versionKey]bool)
	existing := make(map[versionKey]int64)
	var differ []versionKey // stored with another digest
	if len(oldIDs) > 0 {
		rows, err := tx.Query(ctx, `
			SELECT v.id, v.ver, v.vid, v.digest, e.date_added FROM versions v
			JOIN unnest($2::text[], $3::text[]) AS k(id, ver) ON v.id = k.id AND v.ver = k.ver
			LEFT JOIN entries e ON e.collection = $1 AND e.id = v.id AND e.ver = v.ver`, collection, oldIDs, oldVers)
		if err != nil {
			return nil, fmt.Errorf("read versions: %w", err)
		}
		var sum []byte
		var added *int64
		found := 0
		_, err = pgx.ForEachRow(rows, []any{&k.id, &k.ver, &n, &sum, &added}, func() error {
			found++
			vid[k] = n // as it is now, under the lock
			if !bytes.Equal(sum, digests[first[k]]) {
				differ = append(differ, k)
			}
			if added != nil {
				existing[k] = *added // a conflict, below, comes first
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("read versions: %w", err)
		}
		if found != len(oldIDs) {
			// A Delete removed a version between step 1 and the lock.
			return nil, fmt.Errorf("read versions: %w", errRaceLost)
		}
	}
	// Other bytes may say the same: members in another order, as a client or a
	// partner that writes JSON otherwise sends the object again (TAXII 2.1 §5.5).
	// One query for them all: the clock's lock is held.
	if len(differ) > 0 {
		vids := make([]int64, len(differ))
		for i, k := range differ {
			vids[i] = vid[k]
		}
		stored := make(map[int64][]byte, len(differ))
		rows, err := tx.Query(ctx, `SELECT vid, raw FROM versions WHERE vid = ANY($1)`, vids)
		if err != nil {
			return nil, fmt.Errorf("read versions: %w", err)
		}
		var n int64
		var raw []byte
		if _, err := pgx.ForEachRow(rows, []any{&n, &raw}, func() error {
			stored[n] = slices.Clone(raw)
			return nil
		}); err != nil {
			return nil, fmt.Errorf("read versions: %w", err)
		}
		for _, k := range differ {
			conflict[k] = !stix.SameMeaning(stored[vid[k]], objs[first[k]].Raw)
		}
	}
	var fresh []int // indexes of objects that become new entries, in batch order
	for _, i := range uniq {
		switch k := keys[i]; {
		case conflict[k]:
			results[i].Outcome = store.Conflict
		case existing[k] != 0:
			results[i] = store.PutResult{Outcome: store.Duplicate, DateAdded: fromMicros(existing[k])}
		default:
			fresh = append(fresh, i)
		}
	}

	// 4. Take n values from the clock, from now (or just after the last value given,
	// if that is later) up, one microsecond apart, and write the entries with COPY.
	if len(fresh) > 0 {
		if err := tx.QueryRow(ctx, `
			UPDATE clock SET last = greatest(last + 1, floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint) + $1 - 1
			WHERE id = 1 RETURNING last`, len(fresh)).Scan(&last); err != nil {
			return nil, fmt.Errorf("advance clock: %w", err)
		}
		lastOf, err := markLatest(ctx, tx, collection, objs, keys, fresh)
		if err != nil {
			return nil, err
		}
		base := last - int64(len(fresh)) + 1
		entryRows := make([][]any, len(fresh))
		for j, i := range fresh {
			o := &objs[i]
			added := base + int64(j)
			entryRows[j] = []any{collection, o.ID, keys[i].ver, vid[keys[i]], o.Type, o.SpecVersion, added, submitter, lastOf[o.ID] == keys[i].ver}
			results[i] = store.PutResult{Outcome: store.Added, DateAdded: fromMicros(added)}
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"entries"},
			[]string{"collection", "id", "ver", "vid", "type", "spec_version", "date_added", "submitter", "is_last"},
			pgx.CopyFromRows(entryRows))
		if err != nil {
			return nil, fmt.Errorf("copy entries: %w", err)
		}
	}

	// 5. Later objects of the batch with an earlier one's version key.
	for i, k := range keys {
		j := first[k]
		if j == i {
			continue
		}
		switch {
		case results[j].Outcome == store.Conflict || !bytes.Equal(digests[i], digests[j]) && !stix.SameMeaning(objs[i].Raw, objs[j].Raw):
			results[i].Outcome = store.Conflict
		default:
			results[i] = store.PutResult{Outcome: store.Duplicate, DateAdded: results[j].DateAdded}
		}
	}
	if err := s.auditPut(ctx, tx, collection, submitter, objs, results); err != nil {
		return nil, err
	}
	return results, nil
}

// markLatest works out, for the objects of the batch about to become entries (fresh),
// which of their versions becomes the latest in the collection: it returns id ->
// version key for the ids whose latest version is new, and clears is_last on the
// entries that stop being the latest. It runs under the clock's lock.
func markLatest(ctx context.Context, tx pgx.Tx, collection string, objs []stix.Object, keys []versionKey, fresh []int) (map[string]string, error) {
	newest := make(map[string]string, len(fresh)) // the newest fresh version per id
	for _, i := range fresh {
		if v, ok := newest[objs[i].ID]; !ok || keys[i].ver > v {
			newest[objs[i].ID] = keys[i].ver
		}
	}
	ids := make([]string, 0, len(newest))
	for id := range newest {
		ids = append(ids, id)
	}
	rows, err := tx.Query(ctx, `SELECT id, ver FROM entries WHERE collection = $1 AND id = ANY($2::text[]) AND is_last`,
		collection, ids)
	if err != nil {
		return nil, fmt.Errorf("read latest versions: %w", err)
	}
	var id, ver string
	var stale []string // ids whose current latest entry is superseded
	if _, err := pgx.ForEachRow(rows, []any{&id, &ver}, func() error {
		if newest[id] > ver {
			stale = append(stale, id)
		} else {
			delete(newest, id) // an entry already in the collection stays the latest
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read latest versions: %w", err)
	}
	if len(stale) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE entries SET is_last = false WHERE collection = $1 AND id = ANY($2::text[]) AND is_last`,
			collection, stale); err != nil {
			return nil, fmt.Errorf("update latest versions: %w", err)
		}
	}
	return newest, nil
}

// entryColumns are read by scanEntry, from entries e joined with versions v.
const entryColumns = `e.date_added, e.submitter, v.id, v.type, v.spec_version, v.created, v.modified,
	v.revoked, v.name, v.description, v.raw`

func scanEntry(row pgx.Row) (store.Entry, error) {
	var e store.Entry
	var added int64
	var created, modified string
	o := &e.Object
	if err := row.Scan(&added, &e.Submitter, &o.ID, &o.Type, &o.SpecVersion, &created, &modified,
		&o.Revoked, &o.Name, &o.Description, &o.Raw); err != nil {
		return store.Entry{}, err
	}
	e.DateAdded = fromMicros(added)
	var err error
	if created != "" {
		if o.Created, err = stix.ParseTimestamp(created); err != nil {
			return store.Entry{}, fmt.Errorf("%s created: %w", o.ID, err)
		}
	}
	if modified != "" {
		if o.Modified, err = stix.ParseTimestamp(modified); err != nil {
			return store.Entry{}, fmt.Errorf("%s modified: %w", o.ID, err)
		}
	}
	return e, nil
}

// execArgs makes pgx send a query as the unnamed statement, which the server plans
// for the actual cursor and filter values every time. A named prepared statement may
// switch to a generic plan after a few executions, and for "date_added > $2 ORDER BY
// date_added LIMIT n" a generic plan can read the whole collection to sort it. pgx
// caches the statement's description (its column types), so that the rows come back in
// the binary format, in one round trip: raw JSON as bytes rather than hex text that
// the server encodes and pgx decodes again, integers without formatting.
func execArgs(a args) []any { return append([]any{pgx.QueryExecModeCacheDescribe}, a...) }

// args collects query arguments and hands out their placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// versionCondition is the SQL condition that the entry e is one of the versions v
// selects (TAXII 2.1 §3.4.2) among the entries of its collection that satisfy within
// (a condition on e2), or "" when every version is selected.
func versionCondition(v store.VersionFilter, a *args, within string) (string, error) {
	if v.All {
		return "", nil
	}
	if len(v.Exact) > maxFilterList {
		return "", fmt.Errorf("%d versions in a filter, at most %d", len(v.Exact), maxFilterList)
	}
	var terms []string
	latest := v.Last || (!v.First && len(v.Exact) == 0)
	extreme := func(op string) string {
		return `NOT EXISTS (SELECT 1 FROM entries e2 WHERE e2.collection = e.collection AND e2.id = e.id
			AND e2.ver ` + op + ` e.ver` + within + `)`
	}
	switch {
	case latest && within == "":
		terms = append(terms, "e.is_last")
	case latest: // the newest version now is the newest in any restriction too
		terms = append(terms, "e.is_last OR "+extreme(">"))
	}
	if v.First {
		terms = append(terms, extreme("<"))
	}
	if len(v.Exact) > 0 {
		// An object without created or modified (an SCO) has its date_added for a
		// version (TAXII 2.1 §3.4.1: a value consistent to the server), as the
		// manifest and versions endpoints show it.
		ks, added := make([]string, len(v.Exact)), make([]int64, len(v.Exact))
		for i, ts := range v.Exact {
			ks[i], added[i] = ts.Key(), micros(ts.Time())
		}
		terms = append(terms, "e.ver = ANY("+a.add(ks)+"::text[])",
			"e.ver = '' AND e.date_added = ANY("+a.add(added)+"::bigint[])")
	}
	return "(" + strings.Join(terms, " OR ") + ")", nil
}

// Query returns one page of the entries of a collection that match q, in ascending
// date_added.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	limit := clampLimit(q.Limit)
	if len(q.IDs) > maxFilterList || len(q.Types) > maxFilterList || len(q.SpecVersions) > maxFilterList {
		return store.Page{}, fmt.Errorf("postgres: query: more than %d values in a filter", maxFilterList)
	}
	col, err := s.collectionID(ctx, s.pool, q.Collection)
	if err != nil {
		return store.Page{}, fmt.Errorf("postgres: query: %w", err)
	}
	var a args
	where := []string{"e.collection = " + a.add(col)}
	// within restricts the versions that "first" and "last" choose among to those
	// that pass the spec_version and submitter filters and, for a walk bound to a
	// snapshot, to those added up to it (as in the embedded store).
	var within string
	if !q.AddedUpTo.IsZero() {
		p := a.add(micros(q.AddedUpTo))
		where = append(where, "e.date_added <= "+p)
		within += " AND e2.date_added <= " + p
	}
	if !q.AddedAfter.IsZero() {
		where = append(where, "e.date_added > "+a.add(micros(q.AddedAfter)))
	}
	if len(q.IDs) > 0 {
		where = append(where, "e.id = ANY("+a.add(q.IDs)+"::text[])")
	}
	switch len(q.Types) {
	case 0:
	case 1:
		// One type (the common match[type]) as an equality, which the planner knows
		// the (collection, type, date_added) index returns in date_added order: the
		// page stops after limit+1 rows. With "= ANY" it reads and sorts every entry
		// of the type after the cursor, unless statistics steer it elsewhere.
		where = append(where, "e.type = "+a.add(q.Types[0]))
	default:
		where = append(where, "e.type = ANY("+a.add(q.Types)+"::text[])")
	}
	if len(q.SpecVersions) > 0 {
		p := a.add(q.SpecVersions)
		where = append(where, "e.spec_version = ANY("+p+"::text[])")
		within += " AND e2.spec_version = ANY(" + p + "::text[])"
	}
	if q.Submitter != "" {
		// An operator's "last" is its own latest version: another organisation's
		// newer one, which it may not read, must not hide it.
		p := a.add(q.Submitter)
		where = append(where, "e.submitter = "+p)
		within += " AND e2.submitter = " + p
	}
	vc, err := versionCondition(q.Versions, &a, within)
	if err != nil {
		return store.Page{}, fmt.Errorf("postgres: query: %w", err)
	}
	if vc != "" {
		where = append(where, vc)
	}
	sql := `SELECT ` + entryColumns + ` FROM entries e JOIN versions v ON v.vid = e.vid
		WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY e.date_added LIMIT ` + a.add(limit+1)
	rows, err := s.pool.Query(ctx, sql, execArgs(a)...)
	if err != nil {
		return store.Page{}, fmt.Errorf("postgres: query %s: %w", col, err)
	}
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Entry, error) { return scanEntry(r) })
	if err != nil {
		return store.Page{}, fmt.Errorf("postgres: query %s: %w", col, err)
	}
	page := store.Page{Entries: entries}
	if len(entries) > limit {
		page.Entries, page.More = entries[:limit], true
	}
	return page, nil
}

// Delete removes the matching versions of one object from a collection, and the
// versions that are then in no collection at all.
func (s *Store) Delete(ctx context.Context, collection, id string, v store.VersionFilter, specVersions []string) (int, error) {
	if len(specVersions) > maxFilterList {
		return 0, fmt.Errorf("postgres: delete: more than %d spec versions", maxFilterList)
	}
	var a args
	colArg := a.add(collection) // the id, once resolved
	where := []string{"e.collection = " + colArg, "e.id = " + a.add(id)}
	var within string
	if len(specVersions) > 0 {
		p := a.add(specVersions)
		where = append(where, "e.spec_version = ANY("+p+"::text[])")
		within = " AND e2.spec_version = ANY(" + p + "::text[])"
	}
	vc, err := versionCondition(v, &a, within)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete: %w", err)
	}
	if vc != "" {
		where = append(where, vc)
	}
	var n int
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		col, err := s.collectionID(ctx, tx, collection)
		if err != nil {
			return err
		}
		a[0] = col
		// Entries change only under the clock's lock (see Put).
		if _, err := tx.Exec(ctx, `SELECT last FROM clock WHERE id = 1 FOR UPDATE`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `DELETE FROM entries e WHERE `+strings.Join(where, " AND ")+` RETURNING e.ver`, a...)
		if err != nil {
			return err
		}
		vers, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		n = len(vers)
		if n > 0 {
			if _, err := tx.Exec(ctx, `UPDATE entries e SET is_last = NOT EXISTS (SELECT 1 FROM entries e2
					WHERE e2.collection = e.collection AND e2.id = e.id AND e2.ver > e.ver)
				WHERE e.collection = $1 AND e.id = $2`, col, id); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `DELETE FROM versions v WHERE v.id = $1 AND v.ver = ANY($2::text[])
				AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.vid = v.vid)`, id, vers); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE clock SET deletions = deletions + 1 WHERE id = 1`); err != nil {
				return err
			}
		}
		e, err := store.ObjectDeleted(ctx, time.Now(), col, id, v, specVersions, n)
		return s.record(ctx, tx, e, err)
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: delete %s from %s: %w", id, collection, err)
	}
	return n, nil
}

// Deletions returns the count of Deletes that removed entries, by any process:
// each adds one in its transaction, under the clock's lock.
func (s *Store) Deletions(ctx context.Context) (uint64, error) {
	var n int64
	if err := s.pool.QueryRow(ctx, `SELECT deletions FROM clock WHERE id = 1`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: deletions: %w", err)
	}
	return uint64(n), nil
}

// Count returns the number of entries in a collection, or of object versions in all.
func (s *Store) Count(ctx context.Context, collection string) (int, error) {
	var n int
	var err error
	if collection == "" {
		err = s.pool.QueryRow(ctx, `SELECT count(*) FROM versions`).Scan(&n)
	} else {
		var col string
		if col, err = s.collectionID(ctx, s.pool, collection); err == nil {
			err = s.pool.QueryRow(ctx, `SELECT count(*) FROM entries WHERE collection = $1`, col).Scan(&n)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("postgres: count %s: %w", collection, err)
	}
	return n, nil
}

// LastAdded returns the newest date_added of a collection, zero when it is empty.
func (s *Store) LastAdded(ctx context.Context, collection string) (time.Time, error) {
	col, err := s.collectionID(ctx, s.pool, collection)
	if err != nil {
		return time.Time{}, fmt.Errorf("postgres: last added %s: %w", collection, err)
	}
	var last *int64
	if err := s.pool.QueryRow(ctx, `SELECT max(date_added) FROM entries WHERE collection = $1`, col).Scan(&last); err != nil {
		return time.Time{}, fmt.Errorf("postgres: last added %s: %w", collection, err)
	}
	if last == nil {
		return time.Time{}, nil
	}
	return fromMicros(*last), nil
}
