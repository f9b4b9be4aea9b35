package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"quadshare/internal/store"
)

// EnqueueJob adds a job of the given kind to run from runAt (now when zero).
func (s *Store) EnqueueJob(ctx context.Context, kind string, payload []byte, runAt time.Time) (string, error) {
	if kind == "" || len(payload) > store.MaxJobPayload {
		return "", fmt.Errorf("sqlite: enqueue job: need a kind and at most %d bytes of payload", store.MaxJobPayload)
	}
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	now := s.now()
	if runAt.IsZero() {
		runAt = now
	}
	if payload == nil {
		payload = []byte{}
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO jobs (id, kind, payload, run_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		id, kind, payload, runAt.UnixMicro(), now.UnixMicro()); err != nil {
		return "", fmt.Errorf("sqlite: enqueue job %s: %w", kind, err)
	}
	return id, nil
}

// LeaseJob gives worker the oldest due job of one of the kinds that is neither
// done nor leased, or whose lease expired (its worker died or stalled).
func (s *Store) LeaseJob(ctx context.Context, worker string, kinds []string, d time.Duration) (store.Job, error) {
	if err := store.CheckLease(d); err != nil {
		return store.Job{}, fmt.Errorf("sqlite: lease job: %w", err)
	}
	if worker == "" || len(kinds) == 0 || len(kinds) > store.MaxJobKinds {
		return store.Job{}, fmt.Errorf("sqlite: lease job: need a worker name and 1 to %d kinds", store.MaxJobKinds)
	}
	now := s.now()
	until := now.Add(d)
	args := []any{worker, until.UnixMicro(), now.UnixMicro()}
	for _, k := range kinds {
		args = append(args, k)
	}
	// One statement on the one writer connection: no two workers get the same job.
	var j store.Job
	var leaseUntil int64
	err := s.w.QueryRowContext(ctx, `UPDATE jobs SET leased_by = ?1, lease_until = ?2, attempts = attempts + 1
		WHERE id = (SELECT id FROM jobs
			WHERE done_at IS NULL AND run_at <= ?3 AND (lease_until IS NULL OR lease_until < ?3)
				AND kind IN (?`+strings.Repeat(", ?", len(kinds)-1)+`)
			ORDER BY run_at, id LIMIT 1)
		RETURNING id, kind, payload, attempts, lease_until`, args...).
		Scan(&j.ID, &j.Kind, &j.Payload, &j.Attempts, &leaseUntil)
	if errors.Is(err, sql.ErrNoRows) {
		return store.Job{}, fmt.Errorf("sqlite: lease job: none due: %w", store.ErrNotFound)
	}
	if err != nil {
		return store.Job{}, fmt.Errorf("sqlite: lease job: %w", err)
	}
	j.LeaseUntil = time.UnixMicro(leaseUntil).UTC()
	return j, nil
}

// leased runs an update of job id that applies only while worker holds its lease.
func (s *Store) leased(ctx context.Context, what, id, worker, set string, args ...any) error {
	res, err := s.w.ExecContext(ctx, `UPDATE jobs SET `+set+`
		WHERE id = ?1 AND leased_by = ?2 AND done_at IS NULL AND lease_until >= ?3`,
		append([]any{id, worker, s.now().UnixMicro()}, args...)...)
	if err != nil {
		return fmt.Errorf("sqlite: %s job %s: %w", what, id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("sqlite: %s job %s: %w", what, id, store.ErrLeaseLost)
	}
	return nil
}

// ExtendJob renews worker's lease on job id for d from now.
func (s *Store) ExtendJob(ctx context.Context, id, worker string, d time.Duration) error {
	if err := store.CheckLease(d); err != nil {
		return fmt.Errorf("sqlite: extend job: %w", err)
	}
	return s.leased(ctx, "extend", id, worker, `lease_until = ?4`, s.now().Add(d).UnixMicro())
}

// CompleteJob marks job id done and drops its payload.
func (s *Store) CompleteJob(ctx context.Context, id, worker string) error {
	return s.leased(ctx, "complete", id, worker, `done_at = ?3, leased_by = NULL, lease_until = NULL, payload = x''`)
}

// FailJob gives job id back with an error message, to be leased again from retryAt.
func (s *Store) FailJob(ctx context.Context, id, worker, msg string, retryAt time.Time) error {
	if len(msg) > 4096 {
		msg = msg[:4096]
	}
	return s.leased(ctx, "fail", id, worker, `leased_by = NULL, lease_until = NULL, last_error = ?4, run_at = ?5`, msg, retryAt.UnixMicro())
}

// PendingJobs counts the jobs of a kind that are not done.
func (s *Store) PendingJobs(ctx context.Context, kind string) (int, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM jobs WHERE kind = ? AND done_at IS NULL`, kind).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: pending jobs: %w", err)
	}
	return n, nil
}
