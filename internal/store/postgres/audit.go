package postgres

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"quadshare/internal/audit"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// The audit trail (migrations/0003_audit.sql). Every transaction that records
// something appends to it last thing before commit: it locks the head row (SELECT
// ... FOR UPDATE), chains after the seq and hash found there, inserts the records
// (and a checkpoint when one is due) and moves the head. The row lock serialises
// appends across processes; under SERIALIZABLE, a transaction that finds the head
// moved by a concurrent one fails with 40001 and inTx runs it again. Put and
// Delete take the clock's lock before this one, and nothing takes them in the
// other order, so the two locks cannot deadlock.

// WithAuditKey signs audit checkpoints with key: every audit.CheckpointEvery
// records, in the transaction that appends the record, and on demand. Every
// process sharing a database must be given the same key, or checkpoints signed
// by one fail verification under another's. Without a key the trail is chained
// but no checkpoint is signed.
func WithAuditKey(key ed25519.PrivateKey) Option { return func(o *options) { o.auditKey = key } }

// auditState is what the store keeps for the trail.
type auditState struct {
	key   ed25519.PrivateKey // nil: sign nothing
	group store.AuditGroup
}

func (s *Store) initAudit(key ed25519.PrivateKey) error {
	if key != nil && len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("audit key: %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	s.audit.key = key
	s.audit.group.Commit = func(ctx context.Context, entries []audit.Entry) error {
		return s.inTx(ctx, func(tx pgx.Tx) error { return s.appendAudit(ctx, tx, entries) })
	}
	return nil
}

// lockHead takes the trail's lock and returns the last record's seq and hash.
func lockHead(ctx context.Context, tx pgx.Tx) (audit.Record, error) {
	var last audit.Record
	var h []byte
	if err := tx.QueryRow(ctx, `SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE`).Scan(&last.Seq, &h); err != nil {
		return last, fmt.Errorf("audit head: %w", err)
	}
	// A hash of the wrong length (changed by hand) chains as zero: the trail goes
	// on, and Verify reports the link.
	last.Hash, _ = audit.HashFromBytes(h)
	return last, nil
}

// appendAudit chains entries after the last record inside tx and signs a
// checkpoint of each record that is due one. The statements go in one round trip.
func (s *Store) appendAudit(ctx context.Context, tx pgx.Tx, entries []audit.Entry) error {
	last, err := lockHead(ctx, tx)
	if err != nil {
		return err
	}
	recs, err := audit.ChainAll(last, entries)
	if err != nil {
		return err
	}
	var b pgx.Batch
	for i := range recs {
		r := &recs[i]
		ids, vers := make([]string, len(r.Objects)), make([]string, len(r.Objects))
		for j, o := range r.Objects {
			ids[j], vers[j] = o.ID, o.Version
		}
		var keys []int64 // for the index of disclosures by object (migration 24)
		if r.Kind == audit.Disclosure {
			keys = make([]int64, 0, len(r.Objects))
			store.EachDisclosedKey(r.Objects, func(k int64) { keys = append(keys, k) })
		}
		b.Queue(`INSERT INTO audit_records (seq, prev, hash, kind, time_us, actor, subject, rule, object_ids, object_versions, detail, object_keys)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			r.Seq, r.PrevHash[:], r.Hash[:], string(r.Kind), r.Time.UnixMicro(), r.Actor, r.Subject, r.Rule, ids, vers, string(r.Detail), keys)
		if s.audit.key != nil && audit.Due(r.Seq, audit.CheckpointEvery) {
			if err := s.queueCheckpoint(&b, *r); err != nil {
				return err
			}
		}
	}
	end := recs[len(recs)-1]
	b.Queue(`UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1`, end.Seq, end.Hash[:])
	if err := tx.SendBatch(ctx, &b).Close(); err != nil {
		return fmt.Errorf("audit records %d to %d: %w", recs[0].Seq, end.Seq, err)
	}
	return nil
}

func (s *Store) queueCheckpoint(b *pgx.Batch, r audit.Record) error {
	cp, err := audit.Sign(s.audit.key, r, time.Now())
	if err != nil {
		return err
	}
	b.Queue(`INSERT INTO audit_checkpoints (seq, hash, time_us, signature) VALUES ($1, $2, $3, $4)
		ON CONFLICT (seq) DO NOTHING`, cp.Seq, cp.Hash[:], cp.Time.UnixMicro(), cp.Signature)
	return nil
}

// record appends one entry in tx, for the account and collection methods.
func (s *Store) record(ctx context.Context, tx pgx.Tx, e audit.Entry, err error) error {
	if err == nil {
		err = s.appendAudit(ctx, tx, []audit.Entry{e})
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// auditPut appends the receipt of a Put in its transaction; collection is its id.
func (s *Store) auditPut(ctx context.Context, tx pgx.Tx, collection, submitter string, objs []stix.Object, res []store.PutResult) error {
	if err := s.appendAudit(ctx, tx, store.ReceiptEntries(ctx, time.Now(), collection, submitter, objs, res)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// AppendAudit appends entries in a transaction shared with concurrent callers of
// this process.
func (s *Store) AppendAudit(ctx context.Context, entries ...audit.Entry) error {
	if err := s.audit.group.Append(ctx, entries); err != nil {
		return fmt.Errorf("postgres: append audit: %w", err)
	}
	return nil
}

// SignAuditCheckpoint signs a checkpoint of the last record, unless it has one.
func (s *Store) SignAuditCheckpoint(ctx context.Context) error {
	if s.audit.key == nil {
		return fmt.Errorf("postgres: sign audit checkpoint: %w", store.ErrNoAuditKey)
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		last, err := lockHead(ctx, tx)
		if err != nil || last.Seq == 0 {
			return err
		}
		var b pgx.Batch
		if err := s.queueCheckpoint(&b, last); err != nil {
			return err
		}
		return tx.SendBatch(ctx, &b).Close()
	})
	if err != nil {
		return fmt.Errorf("postgres: sign audit checkpoint: %w", err)
	}
	return nil
}

// unreadable stands for object columns that are not what appendAudit writes: the
// record then fails its hash, and Verify reports it edited at its seq.
var unreadable = []audit.ObjectRef{{ID: "(the object columns are unreadable)"}}

// AuditRecords returns at most limit records after afterSeq, in seq order.
func (s *Store) AuditRecords(ctx context.Context, afterSeq int64, limit int) ([]audit.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, prev, hash, kind, time_us, actor, subject, rule, object_ids, object_versions, detail
		FROM audit_records WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, store.AuditPageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: audit records: %w", err)
	}
	return collectAuditRecords(rows)
}

// AuditDisclosures returns the disclosure records naming objectID, newest first,
// through the GIN indexes of the disclosed objects' keys and, for records
// appended before there were keys, of their ids (migration 24). The ids are
// checked: two may share a key.
func (s *Store) AuditDisclosures(ctx context.Context, objectID string, limit int) ([]audit.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, prev, hash, kind, time_us, actor, subject, rule, object_ids, object_versions, detail
		FROM audit_records WHERE kind = 'disclosure' AND object_ids @> ARRAY[$1::text]
			AND (object_keys @> ARRAY[$2::bigint] OR object_keys IS NULL)
		ORDER BY seq DESC LIMIT $3`, objectID, store.DisclosedKey(objectID), store.AuditPageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: audit disclosures: %w", err)
	}
	return collectAuditRecords(rows)
}

// AuditTally counts the records of actors since since, through audit_records_actor.
func (s *Store) AuditTally(ctx context.Context, actors []string, since time.Time) ([]store.AuditCount, error) {
	if len(actors) == 0 {
		return nil, nil
	}
	if len(actors) > store.MaxTallyActors {
		return nil, fmt.Errorf("postgres: audit tally: more than %d actors", store.MaxTallyActors)
	}
	rows, err := s.pool.Query(ctx, `SELECT kind, rule, count(*), coalesce(sum(cardinality(object_ids)), 0)
		FROM audit_records WHERE actor = ANY($1) AND time_us >= $2
		GROUP BY kind, rule ORDER BY kind, rule`, actors, since.UnixMicro())
	if err != nil {
		return nil, fmt.Errorf("postgres: audit tally: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.AuditCount, error) {
		var c store.AuditCount
		var kind string
		err := row.Scan(&kind, &c.Rule, &c.Records, &c.Objects)
		c.Kind = audit.Kind(kind)
		return c, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: audit tally: %w", err)
	}
	return out, nil
}

// collectAuditRecords reads rows of (seq, prev, hash, kind, time_us, actor,
// subject, rule, object_ids, object_versions, detail).
func collectAuditRecords(rows pgx.Rows) ([]audit.Record, error) {
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (audit.Record, error) {
		var r audit.Record
		var prev, hash []byte
		var kind, detail string
		var us int64
		var ids, vers []string
		if err := row.Scan(&r.Seq, &prev, &hash, &kind, &us, &r.Actor, &r.Subject, &r.Rule, &ids, &vers, &detail); err != nil {
			return r, err
		}
		// A hash of the wrong length reads as zero: Verify then reports the record.
		r.PrevHash, _ = audit.HashFromBytes(prev)
		r.Hash, _ = audit.HashFromBytes(hash)
		r.Kind, r.Time = audit.Kind(kind), time.UnixMicro(us).UTC()
		switch {
		case len(ids) != len(vers):
			r.Objects = unreadable
		case len(ids) > 0:
			r.Objects = make([]audit.ObjectRef, len(ids))
			for i := range ids {
				r.Objects[i] = audit.ObjectRef{ID: ids[i], Version: vers[i]}
			}
		}
		if detail != "" {
			r.Detail = json.RawMessage(detail)
		}
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: audit records: %w", err)
	}
	return out, nil
}

// AuditCheckpoints returns at most limit checkpoints after afterSeq, in seq order.
func (s *Store) AuditCheckpoints(ctx context.Context, afterSeq int64, limit int) ([]audit.Checkpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, hash, time_us, signature FROM audit_checkpoints
		WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, store.AuditPageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: audit checkpoints: %w", err)
	}
	cps, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (audit.Checkpoint, error) {
		var c audit.Checkpoint
		var hash []byte
		var us int64
		if err := row.Scan(&c.Seq, &hash, &us, &c.Signature); err != nil {
			return c, err
		}
		c.Hash, _ = audit.HashFromBytes(hash) // a wrong length fails the signature
		c.Time = time.UnixMicro(us).UTC()
		return c, nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: audit checkpoints: %w", err)
	}
	return cps, nil
}
