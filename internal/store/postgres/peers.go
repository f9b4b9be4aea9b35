package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"quadshare/internal/store"
)

var _ store.Peers = (*Store)(nil)

// dbNowUS is the database clock in unix microseconds: leases are compared with it, so
// that the clocks of the processes sharing the database need not agree.
const dbNowUS = `(extract(epoch from clock_timestamp()) * 1000000)::bigint`

func usOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

func timeOfUS(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// CreatePeer adds p.
func (s *Store) CreatePeer(ctx context.Context, p store.Peer) error {
	if err := store.CheckPeer(p); err != nil {
		return err
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = time.Now()
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO peers (name, nation, url, fingerprint, public_key, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, p.Name, p.Nation, p.URL, p.Fingerprint, p.PublicKey, usOf(p.CreatedAt)); err != nil {
			return err
		}
		e, err := store.PeerCreated(ctx, time.Now(), p)
		return s.record(ctx, tx, e, err)
	})
	if isCode(err, codeUniqueViolation) {
		return fmt.Errorf("postgres: create peer %s: %w", p.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("postgres: create peer %s: %w", p.Name, err)
	}
	return nil
}

const peerColumns = `name, nation, url, fingerprint, public_key, created_at, queued, pushed, pulled, rejected,
	conflicts, pushed_seq, last_success, last_error_at, last_error,
	(SELECT count(*) FROM outbox o WHERE o.peer = p.name AND o.seq > p.pushed_seq),
	coalesce((SELECT min(queued_at) FROM outbox o WHERE o.peer = p.name AND o.seq > p.pushed_seq), 0)`

func scanPeer(sc interface{ Scan(...any) error }) (store.Peer, error) {
	var p store.Peer
	var created, success, errAt, oldest int64
	err := sc.Scan(&p.Name, &p.Nation, &p.URL, &p.Fingerprint, &p.PublicKey, &created, &p.Queued, &p.Pushed,
		&p.Pulled, &p.Rejected, &p.Conflicts, &p.PushedSeq, &success, &errAt, &p.LastError, &p.Depth, &oldest)
	p.CreatedAt, p.LastSuccess, p.LastErrorAt, p.OldestQueue = timeOfUS(created), timeOfUS(success), timeOfUS(errAt), timeOfUS(oldest)
	return p, err
}

func (s *Store) onePeer(ctx context.Context, where, arg string) (store.Peer, error) {
	p, err := scanPeer(s.pool.QueryRow(ctx, `SELECT `+peerColumns+` FROM peers p WHERE `+where+` = $1`, arg))
	if err != nil {
		return p, notFound(err, fmt.Sprintf("peer %s %q", where, arg))
	}
	return p, nil
}

// Peer returns the peer named name.
func (s *Store) Peer(ctx context.Context, name string) (store.Peer, error) {
	return s.onePeer(ctx, "name", name)
}

// PeerByFingerprint returns the peer whose certificate has that fingerprint.
func (s *Store) PeerByFingerprint(ctx context.Context, fp string) (store.Peer, error) {
	return s.onePeer(ctx, "fingerprint", fp)
}

// Peers returns every peer by name.
func (s *Store) Peers(ctx context.Context) ([]store.Peer, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+peerColumns+` FROM peers p ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: peers: %w", err)
	}
	defer rows.Close()
	var out []store.Peer
	for rows.Next() {
		p, err := scanPeer(rows)
		if err != nil {
			return nil, fmt.Errorf("postgres: peers: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeletePeer removes a peer with its outbox and cursors.
func (s *Store) DeletePeer(ctx context.Context, name string) error {
	return s.peerTx(ctx, "delete peer", name, "", func(tx pgx.Tx) error {
		for _, q := range []string{`DELETE FROM outbox WHERE peer = $1`, `DELETE FROM peer_cursors WHERE peer = $1`, `DELETE FROM peers WHERE name = $1`} {
			if _, err := tx.Exec(ctx, q, name); err != nil {
				return err
			}
		}
		e, err := store.PeerDeleted(ctx, time.Now(), name)
		return s.record(ctx, tx, e, err)
	})
}

// peerTx runs fn in a transaction holding the peer's row locked, after checking that
// the peer exists and, when holder is set, that holder holds its lease.
func (s *Store) peerTx(ctx context.Context, what, name, holder string, fn func(tx pgx.Tx) error) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var h string
		var leased bool
		err := tx.QueryRow(ctx, `SELECT lease_holder, lease_until >= `+dbNowUS+` FROM peers WHERE name = $1 FOR UPDATE`, name).Scan(&h, &leased)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		if holder != "" && (h != holder || !leased) {
			return store.ErrLeased
		}
		return fn(tx)
	})
	if err != nil {
		return fmt.Errorf("postgres: %s %s: %w", what, name, err)
	}
	return nil
}

// LeasePeer gives holder the peer's work for d.
func (s *Store) LeasePeer(ctx context.Context, name, holder string, d time.Duration) error {
	if err := store.CheckPeerLease(holder, d); err != nil {
		return err
	}
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE peers SET lease_holder = $1, lease_until = `+dbNowUS+` + $2
			WHERE name = $3 AND (lease_holder = $1 OR lease_until < `+dbNowUS+`)`, holder, d.Microseconds(), name)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: lease peer %s: %w", name, err)
	}
	if n == 1 {
		return nil
	}
	if _, err := s.Peer(ctx, name); err != nil {
		return err
	}
	return fmt.Errorf("postgres: lease peer %s: %w", name, store.ErrLeased)
}

// ReleasePeer ends holder's lease.
func (s *Store) ReleasePeer(ctx context.Context, name, holder string) error {
	_, err := s.exec(ctx, `UPDATE peers SET lease_holder = '', lease_until = 0 WHERE name = $1 AND lease_holder = $2`, name, holder)
	if err != nil {
		return fmt.Errorf("postgres: release peer %s: %w", name, err)
	}
	return nil
}

// PeerCursor returns the value under key.
func (s *Store) PeerCursor(ctx context.Context, name, key string) (string, error) {
	var v string
	err := s.pool.QueryRow(ctx, `SELECT value FROM peer_cursors WHERE peer = $1 AND key = $2`, name, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("postgres: peer cursor %s %s: %w", name, key, err)
	}
	return v, nil
}

const upsertCursor = `INSERT INTO peer_cursors (peer, key, value) VALUES ($1, $2, $3)
	ON CONFLICT (peer, key) DO UPDATE SET value = excluded.value`

// SetPeerCursor keeps value under key while holder holds the lease.
func (s *Store) SetPeerCursor(ctx context.Context, name, holder, key, value string) error {
	if err := store.CheckCursor(key, value); err != nil {
		return err
	}
	if holder == "" {
		return errors.New("postgres: set peer cursor: need the lease holder")
	}
	return s.peerTx(ctx, "set cursor of", name, holder, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, upsertCursor, name, key, value)
		return err
	})
}

// Enqueue appends items to the peer's outbox. The peer's row is locked for the
// transaction, so sequences are assigned in commit order.
func (s *Store) Enqueue(ctx context.Context, name, holder string, items []store.OutboxItem, key, value string) (int, error) {
	if key != "" {
		if err := store.CheckCursor(key, value); err != nil {
			return 0, err
		}
	}
	if holder == "" {
		return 0, errors.New("postgres: enqueue: need the lease holder")
	}
	added := 0
	err := s.peerTx(ctx, "enqueue for", name, holder, func(tx pgx.Tx) error {
		added = 0 // the transaction may run again: nothing of an attempt that rolled back stays
		for i := range items {
			items[i].Seq = 0
		}
		var last int64
		if err := tx.QueryRow(ctx, `SELECT last_seq FROM peers WHERE name = $1`, name).Scan(&last); err != nil {
			return err
		}
		now := usOf(time.Now())
		seq := max(now, last+1)
		ids := make([]string, len(items))
		versions := make([]string, len(items))
		raws := make([][]byte, len(items))
		for i := range items {
			ids[i], versions[i], raws[i] = items[i].ID, items[i].Version, nonNilBytes(items[i].Raw)
		}
		// One statement for the batch: rows keep their order (WITH ORDINALITY) and take
		// consecutive sequences; those already queued are skipped.
		rows, err := tx.Query(ctx, `
			WITH input AS (
				SELECT i.id, i.version, i.raw, i.n FROM unnest($2::text[], $3::text[], $4::bytea[]) WITH ORDINALITY AS i(id, version, raw, n)),
			fresh AS (
				SELECT DISTINCT ON (id, version) id, version, raw, n FROM input
				WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.peer = $1 AND o.object_id = input.id AND o.version = input.version)
				ORDER BY id, version, n),
			numbered AS (
				SELECT id, version, raw, n, $5::bigint + row_number() OVER (ORDER BY n) - 1 AS seq FROM fresh)
			INSERT INTO outbox (peer, seq, object_id, version, queued_at, raw)
			SELECT $1, seq, id, version, $6, raw FROM numbered
			RETURNING seq, object_id, version`, name, ids, versions, raws, seq, now)
		if err != nil {
			return err
		}
		type idv struct{ id, version string }
		got := map[idv]int64{}
		maxSeq := seq - 1
		for rows.Next() {
			var sq int64
			var id, v string
			if err := rows.Scan(&sq, &id, &v); err != nil {
				rows.Close()
				return err
			}
			got[idv{id, v}] = sq
			maxSeq = max(maxSeq, sq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range items {
			if sq, ok := got[idv{items[i].ID, items[i].Version}]; ok {
				items[i].Seq = sq
				delete(got, idv{items[i].ID, items[i].Version})
				added++
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE peers SET last_seq = greatest(last_seq, $1), queued = queued + $2 WHERE name = $3`, maxSeq, added, name); err != nil {
			return err
		}
		if key != "" {
			if _, err := tx.Exec(ctx, upsertCursor, name, key, value); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return added, nil
}

// Outbox returns queued items after a sequence.
func (s *Store) Outbox(ctx context.Context, name string, after int64, limit int) ([]store.OutboxItem, error) {
	if limit <= 0 || limit > store.MaxOutboxPage {
		limit = store.MaxOutboxPage
	}
	rows, err := s.pool.Query(ctx, `SELECT seq, object_id, version, raw FROM outbox
		WHERE peer = $1 AND seq > $2 ORDER BY seq LIMIT $3`, name, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: outbox of %s: %w", name, err)
	}
	defer rows.Close()
	var out []store.OutboxItem
	for rows.Next() {
		var it store.OutboxItem
		if err := rows.Scan(&it.Seq, &it.ID, &it.Version, &it.Raw); err != nil {
			return nil, fmt.Errorf("postgres: outbox of %s: %w", name, err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// AckOutbox records that the peer has every item up to seq.
func (s *Store) AckOutbox(ctx context.Context, name, holder string, seq int64) error {
	if holder == "" {
		return errors.New("postgres: ack outbox: need the lease holder")
	}
	return s.peerTx(ctx, "ack outbox of", name, holder, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE peers SET
			pushed = pushed + (SELECT count(*) FROM outbox WHERE peer = $1 AND seq > peers.pushed_seq AND seq <= $2),
			pushed_seq = greatest(pushed_seq, $2) WHERE name = $1`, name, seq)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `DELETE FROM outbox WHERE peer = $1 AND seq <= $2`, name, seq)
		return err
	})
}

// RecordPeer adds one round's outcome.
func (s *Store) RecordPeer(ctx context.Context, name string, ev store.PeerEvent) error {
	if len(ev.Error) > store.MaxPeerError {
		ev.Error = ev.Error[:store.MaxPeerError]
	}
	at := usOf(ev.At)
	if at == 0 {
		at = usOf(time.Now())
	}
	tag, err := s.exec(ctx, `UPDATE peers SET pulled = pulled + $1, rejected = rejected + $2, conflicts = conflicts + $3,
		last_success = CASE WHEN $4 THEN $5 ELSE last_success END,
		last_error_at = CASE WHEN $6 <> '' THEN $5 ELSE last_error_at END,
		last_error = CASE WHEN $6 <> '' THEN $6 ELSE last_error END
		WHERE name = $7`, ev.Pulled, ev.Rejected, ev.Conflicts, ev.Success, at, ev.Error, name)
	if err != nil {
		return fmt.Errorf("postgres: record peer %s: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: record peer %s: %w", name, store.ErrNotFound)
	}
	return nil
}
