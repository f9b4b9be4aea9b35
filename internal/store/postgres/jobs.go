package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"quadshare/internal/store"
)

// Job is store.Job; the queue lives in the table jobs (migration 2). Times are
// the database's clock, so the processes' clocks need not agree.
type Job = store.Job

// ErrLeaseLost is store.ErrLeaseLost.
var ErrLeaseLost = store.ErrLeaseLost

func checkLease(d time.Duration) error { return store.CheckLease(d) }

// EnqueueJob adds a job of the given kind to run at runAt (now when zero) and returns
// its id.
func (s *Store) EnqueueJob(ctx context.Context, kind string, payload []byte, runAt time.Time) (string, error) {
	if kind == "" || len(payload) > store.MaxJobPayload {
		return "", fmt.Errorf("postgres: enqueue job: need a kind and at most %d bytes of payload", store.MaxJobPayload)
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("postgres: enqueue job: %w", err)
	}
	id := hex.EncodeToString(b[:])
	var at *time.Time
	if !runAt.IsZero() {
		at = &runAt
	}
	_, err := s.exec(ctx, `INSERT INTO jobs (id, kind, payload, run_at) VALUES ($1, $2, $3, coalesce($4, now()))`,
		id, kind, nonNilBytes(payload), at)
	if err != nil {
		return "", fmt.Errorf("postgres: enqueue job %s: %w", kind, err)
	}
	return id, nil
}

// LeaseJob gives worker the oldest due job of one of the kinds that is not done and not
// leased (or whose lease expired: its worker died or stalled), leased for d. It returns
// an error wrapping store.ErrNotFound when there is none. Workers never wait on each
// other: a job being leased by another worker right now is skipped (SKIP LOCKED).
func (s *Store) LeaseJob(ctx context.Context, worker string, kinds []string, d time.Duration) (Job, error) {
	if err := checkLease(d); err != nil {
		return Job{}, fmt.Errorf("postgres: lease job: %w", err)
	}
	if worker == "" || len(kinds) == 0 || len(kinds) > store.MaxJobKinds {
		return Job{}, fmt.Errorf("postgres: lease job: need a worker name and 1 to %d kinds", store.MaxJobKinds)
	}
	var j Job
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `
			UPDATE jobs SET leased_by = $1, lease_until = now() + $2 * interval '1 millisecond', attempts = attempts + 1
			WHERE id = (
				SELECT id FROM jobs
				WHERE done_at IS NULL AND kind = ANY($3::text[]) AND run_at <= now()
					AND (lease_until IS NULL OR lease_until < now())
				ORDER BY run_at, id LIMIT 1
				FOR UPDATE SKIP LOCKED)
			RETURNING id, kind, payload, attempts, lease_until`,
			worker, d.Milliseconds(), kinds).Scan(&j.ID, &j.Kind, &j.Payload, &j.Attempts, &j.LeaseUntil)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Job{}, fmt.Errorf("postgres: lease job: none due: %w", store.ErrNotFound)
	}
	if err != nil {
		return Job{}, fmt.Errorf("postgres: lease job: %w", err)
	}
	return j, nil
}

// leased runs an update of job id that applies only while worker still holds its
// lease; otherwise it returns an error wrapping ErrLeaseLost.
func (s *Store) leased(ctx context.Context, what, id, worker, set string, args ...any) error {
	var n int64
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE jobs SET `+set+`
			WHERE id = $1 AND leased_by = $2 AND done_at IS NULL AND lease_until >= now()`,
			append([]any{id, worker}, args...)...)
		n = tag.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: %s job %s: %w", what, id, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: %s job %s: %w", what, id, ErrLeaseLost)
	}
	return nil
}

// ExtendJob renews worker's lease on job id for d from now.
func (s *Store) ExtendJob(ctx context.Context, id, worker string, d time.Duration) error {
	if err := checkLease(d); err != nil {
		return fmt.Errorf("postgres: extend job: %w", err)
	}
	return s.leased(ctx, "extend", id, worker, `lease_until = now() + $3 * interval '1 millisecond'`, d.Milliseconds())
}

// CompleteJob marks job id done; it never runs again, and its payload is dropped.
func (s *Store) CompleteJob(ctx context.Context, id, worker string) error {
	return s.leased(ctx, "complete", id, worker, `done_at = now(), leased_by = NULL, lease_until = NULL, payload = ''::bytea`)
}

// FailJob gives job id back with an error message, to be leased again from retryAt.
func (s *Store) FailJob(ctx context.Context, id, worker, msg string, retryAt time.Time) error {
	if len(msg) > 4096 {
		msg = msg[:4096]
	}
	return s.leased(ctx, "fail", id, worker, `leased_by = NULL, lease_until = NULL, last_error = $3, run_at = $4`, msg, retryAt)
}

// PendingJobs counts the jobs of a kind that are not done.
func (s *Store) PendingJobs(ctx context.Context, kind string) (int, error) {
	var n int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM jobs WHERE kind = $1 AND done_at IS NULL`, kind).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: pending jobs: %w", err)
	}
	return n, nil
}
