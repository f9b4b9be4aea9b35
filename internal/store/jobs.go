package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Job is a unit of background work (an asynchronous TAXII addition), kept in the
// database so that it survives a restart, and leased so that each job runs once
// across the processes sharing the database: a job whose process dies is taken
// over when its lease expires.
type Job struct {
	ID         string
	Kind       string
	Payload    []byte
	Attempts   int       // leases so far, this one included
	LeaseUntil time.Time // the worker must finish or extend before then
}

// ErrLeaseLost is wrapped when a worker extends, completes or fails a job whose
// lease expired or was taken over: another worker may be running it, so this one
// stops.
var ErrLeaseLost = errors.New("job lease lost")

// Limits on jobs.
const (
	MaxJobPayload = 512 << 20 // a TAXII envelope of up to max_content_length
	MaxLease      = time.Hour
	MaxJobKinds   = 16
)

// CheckLease refuses a lease duration outside (0, MaxLease].
func CheckLease(d time.Duration) error {
	if d <= 0 || d > MaxLease {
		return fmt.Errorf("lease %v, want in (0, %v]", d, MaxLease)
	}
	return nil
}

// Jobs is the queue of background work.
type Jobs interface {
	// EnqueueJob adds a job to run from runAt (now when zero) and returns its id.
	EnqueueJob(ctx context.Context, kind string, payload []byte, runAt time.Time) (string, error)
	// LeaseJob gives worker the oldest due job of one of kinds that is neither done
	// nor leased (or whose lease expired), for d. ErrNotFound when there is none.
	LeaseJob(ctx context.Context, worker string, kinds []string, d time.Duration) (Job, error)
	// ExtendJob, CompleteJob and FailJob apply only while worker holds the lease,
	// else they return ErrLeaseLost. A completed job never runs again and its
	// payload is dropped; a failed one is leased again from retryAt.
	ExtendJob(ctx context.Context, id, worker string, d time.Duration) error
	CompleteJob(ctx context.Context, id, worker string) error
	FailJob(ctx context.Context, id, worker, msg string, retryAt time.Time) error
	// PendingJobs counts the jobs of a kind not done yet, leased or not.
	PendingJobs(ctx context.Context, kind string) (int, error)
}
