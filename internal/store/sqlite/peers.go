package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/store"
)

var _ store.Peers = (*Store)(nil)

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
		p.CreatedAt = s.now()
	}
	err := s.audited(ctx, func(tx *sql.Tx) (audit.Entry, error) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO peers (name, nation, url, fingerprint, public_key, created_at)
			VALUES (?, ?, ?, ?, ?, ?)`, p.Name, p.Nation, p.URL, p.Fingerprint, p.PublicKey, usOf(p.CreatedAt)); err != nil {
			return audit.Entry{}, err
		}
		return store.PeerCreated(ctx, s.now(), p)
	})
	if isUnique(err) {
		return fmt.Errorf("sqlite: create peer %s: %w", p.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create peer %s: %w", p.Name, err)
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

// Peer returns the peer named name.
func (s *Store) Peer(ctx context.Context, name string) (store.Peer, error) {
	p, err := scanPeer(s.r.QueryRowContext(ctx, `SELECT `+peerColumns+` FROM peers p WHERE name = ?`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("sqlite: peer %q: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("sqlite: peer %q: %w", name, err)
	}
	return p, nil
}

// PeerByFingerprint returns the peer whose certificate has that fingerprint.
func (s *Store) PeerByFingerprint(ctx context.Context, fp string) (store.Peer, error) {
	p, err := scanPeer(s.r.QueryRowContext(ctx, `SELECT `+peerColumns+` FROM peers p WHERE fingerprint = ?`, fp))
	if errors.Is(err, sql.ErrNoRows) {
		return p, fmt.Errorf("sqlite: peer with certificate %s: %w", fp, store.ErrNotFound)
	}
	if err != nil {
		return p, fmt.Errorf("sqlite: peer with certificate %s: %w", fp, err)
	}
	return p, nil
}

// Peers returns every peer by name.
func (s *Store) Peers(ctx context.Context) ([]store.Peer, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+peerColumns+` FROM peers p ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: peers: %w", err)
	}
	defer rows.Close()
	var out []store.Peer
	for rows.Next() {
		p, err := scanPeer(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: peers: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// DeletePeer removes a peer with its outbox and cursors.
func (s *Store) DeletePeer(ctx context.Context, name string) error {
	return s.peerTx(ctx, "delete peer", name, "", func(tx *sql.Tx) error {
		for _, q := range []string{`DELETE FROM outbox WHERE peer = ?`, `DELETE FROM peer_cursors WHERE peer = ?`, `DELETE FROM peers WHERE name = ?`} {
			if _, err := tx.ExecContext(ctx, q, name); err != nil {
				return err
			}
		}
		e, err := store.PeerDeleted(ctx, s.now(), name)
		if err != nil {
			return err
		}
		return s.appendAudit(tx, []audit.Entry{e})
	})
}

// peerTx runs fn in a write transaction after checking that the peer exists and, when
// holder is set, that holder holds its lease.
func (s *Store) peerTx(ctx context.Context, what, name, holder string, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s %s: %w", what, name, err)
	}
	defer func() { _ = tx.Rollback() }()
	var h string
	var until int64
	err = tx.QueryRowContext(ctx, `SELECT lease_holder, lease_until FROM peers WHERE name = ?`, name).Scan(&h, &until)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s %s: %w", what, name, store.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: %s %s: %w", what, name, err)
	}
	if holder != "" && (h != holder || until < usOf(s.now())) {
		return fmt.Errorf("sqlite: %s %s: %w", what, name, store.ErrLeased)
	}
	if err := fn(tx); err != nil {
		return fmt.Errorf("sqlite: %s %s: %w", what, name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s %s: %w", what, name, err)
	}
	return nil
}

// LeasePeer gives holder the peer's work for d.
func (s *Store) LeasePeer(ctx context.Context, name, holder string, d time.Duration) error {
	if err := store.CheckPeerLease(holder, d); err != nil {
		return err
	}
	now := usOf(s.now())
	res, err := s.w.ExecContext(ctx, `UPDATE peers SET lease_holder = ?, lease_until = ?
		WHERE name = ? AND (lease_holder = ? OR lease_until < ?)`, holder, now+d.Microseconds(), name, holder, now)
	if err != nil {
		return fmt.Errorf("sqlite: lease peer %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	if _, err := s.Peer(ctx, name); err != nil {
		return err
	}
	return fmt.Errorf("sqlite: lease peer %s: %w", name, store.ErrLeased)
}

// ReleasePeer ends holder's lease.
func (s *Store) ReleasePeer(ctx context.Context, name, holder string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE peers SET lease_holder = '', lease_until = 0 WHERE name = ? AND lease_holder = ?`, name, holder)
	if err != nil {
		return fmt.Errorf("sqlite: release peer %s: %w", name, err)
	}
	return nil
}

// PeerCursor returns the value under key.
func (s *Store) PeerCursor(ctx context.Context, name, key string) (string, error) {
	var v string
	err := s.r.QueryRowContext(ctx, `SELECT value FROM peer_cursors WHERE peer = ? AND key = ?`, name, key).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("sqlite: peer cursor %s %s: %w", name, key, err)
	}
	return v, nil
}

const upsertCursor = `INSERT INTO peer_cursors (peer, key, value) VALUES (?, ?, ?)
	ON CONFLICT (peer, key) DO UPDATE SET value = excluded.value`

// SetPeerCursor keeps value under key while holder holds the lease.
func (s *Store) SetPeerCursor(ctx context.Context, name, holder, key, value string) error {
	if err := store.CheckCursor(key, value); err != nil {
		return err
	}
	if holder == "" {
		return errors.New("sqlite: set peer cursor: need the lease holder")
	}
	return s.peerTx(ctx, "set cursor of", name, holder, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, upsertCursor, name, key, value)
		return err
	})
}

// Enqueue appends items to the peer's outbox.
func (s *Store) Enqueue(ctx context.Context, name, holder string, items []store.OutboxItem, key, value string) (int, error) {
	if key != "" {
		if err := store.CheckCursor(key, value); err != nil {
			return 0, err
		}
	}
	if holder == "" {
		return 0, errors.New("sqlite: enqueue: need the lease holder")
	}
	added := 0
	err := s.peerTx(ctx, "enqueue for", name, holder, func(tx *sql.Tx) error {
		var last int64
		if err := tx.QueryRowContext(ctx, `SELECT last_seq FROM peers WHERE name = ?`, name).Scan(&last); err != nil {
			return err
		}
		now := usOf(s.now())
		seq := max(now, last+1)
		// Rows go in by statements of the most rows that fit, each row with its
		// own seq; a statement returns the seqs of the rows it added (an item
		// already queued adds none, and leaves its seq unused).
		var ins [len(enqueueRows)]*sql.Stmt
		for k := range ins {
			ins[k] = tx.StmtContext(ctx, s.insOutbox[k])
		}
		for start := 0; start < len(items); {
			k := len(enqueueRows) - 1
			for enqueueRows[k] > len(items)-start {
				k--
			}
			n := enqueueRows[k]
			chunk := items[start : start+n]
			args := make([]any, 0, 6*n)
			for i := range chunk {
				args = append(args, name, seq+int64(i), chunk[i].ID, chunk[i].Version, now, chunk[i].Raw)
			}
			rows, err := ins[k].QueryContext(ctx, args...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var got int64
				if err = rows.Scan(&got); err != nil {
					break
				}
				chunk[got-seq].Seq = got
				added++
			}
			if err == nil {
				err = rows.Err()
			}
			rows.Close()
			if err != nil {
				return err
			}
			seq += int64(n)
			start += n
		}
		if _, err := tx.ExecContext(ctx, `UPDATE peers SET last_seq = ?, queued = queued + ? WHERE name = ?`, seq-1, added, name); err != nil {
			return err
		}
		if key != "" {
			if _, err := tx.ExecContext(ctx, upsertCursor, name, key, value); err != nil {
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

// enqueueRows are the numbers of outbox rows one statement adds, largest last.
var enqueueRows = [...]int{1, 8, 64}

// Outbox returns queued items after a sequence.
func (s *Store) Outbox(ctx context.Context, name string, after int64, limit int) ([]store.OutboxItem, error) {
	if limit <= 0 || limit > store.MaxOutboxPage {
		limit = store.MaxOutboxPage
	}
	rows, err := s.r.QueryContext(ctx, `SELECT seq, object_id, version, raw FROM outbox
		WHERE peer = ? AND seq > ? ORDER BY seq LIMIT ?`, name, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: outbox of %s: %w", name, err)
	}
	defer rows.Close()
	var out []store.OutboxItem
	for rows.Next() {
		var it store.OutboxItem
		if err := rows.Scan(&it.Seq, &it.ID, &it.Version, &it.Raw); err != nil {
			return nil, fmt.Errorf("sqlite: outbox of %s: %w", name, err)
		}
		out = append(out, it)
	}
	return out, rows.Err()
}

// AckOutbox records that the peer has every item up to seq.
func (s *Store) AckOutbox(ctx context.Context, name, holder string, seq int64) error {
	if holder == "" {
		return errors.New("sqlite: ack outbox: need the lease holder")
	}
	return s.peerTx(ctx, "ack outbox of", name, holder, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE peers SET
			pushed = pushed + (SELECT count(*) FROM outbox WHERE peer = ? AND seq > peers.pushed_seq AND seq <= ?),
			pushed_seq = max(pushed_seq, ?) WHERE name = ?`, name, seq, seq, name)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM outbox WHERE peer = ? AND seq <= ?`, name, seq)
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
		at = usOf(s.now())
	}
	res, err := s.w.ExecContext(ctx, `UPDATE peers SET pulled = pulled + ?, rejected = rejected + ?, conflicts = conflicts + ?,
		last_success = CASE WHEN ? THEN ? ELSE last_success END,
		last_error_at = CASE WHEN ? <> '' THEN ? ELSE last_error_at END,
		last_error = CASE WHEN ? <> '' THEN ? ELSE last_error END
		WHERE name = ?`, ev.Pulled, ev.Rejected, ev.Conflicts, ev.Success, at, ev.Error, at, ev.Error, ev.Error, name)
	if err != nil {
		return fmt.Errorf("sqlite: record peer %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: record peer %s: %w", name, store.ErrNotFound)
	}
	return nil
}
