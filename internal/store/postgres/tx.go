package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"quadshare/internal/store"
)

// SQLSTATE codes after which a whole transaction may simply be run again.
const (
	codeSerializationFailure = "40001" // SERIALIZABLE conflicts; CockroachDB's "restart transaction"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	codeForeignKeyViolation  = "23503"
	codeNotInRepertoire      = "22021" // text with U+0000, or bytes that are not UTF-8
)

// errRaceLost is returned by a transaction's function when it found that a concurrent
// transaction changed what it had read, and must run again to see the change.
var errRaceLost = errors.New("lost a race with a concurrent transaction")

// retryable reports whether err means "the transaction lost a race, run it again".
func retryable(err error) bool {
	if errors.Is(err, errRaceLost) {
		return true
	}
	return isCode(err, codeSerializationFailure, codeDeadlockDetected)
}

func isCode(err error, codes ...string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && slices.Contains(codes, pgErr.Code)
}

// backoff is the pause before attempt n (n >= 1): exponential from 2 ms, capped at
// 250 ms, with full jitter so that the losers of one race do not meet again.
func backoff(n int) time.Duration {
	ceiling := min(2*time.Millisecond<<min(n-1, 8), 250*time.Millisecond)
	return time.Duration(rand.Int64N(int64(ceiling)) + int64(time.Millisecond))
}

// inTx runs fn in a transaction at the store's isolation level and commits it. When the
// database reports a serialization failure or a deadlock (at any statement or at
// commit), the transaction is rolled back and fn runs again, up to s.maxAttempts times
// in all. fn must therefore have no effect outside the transaction that it cannot repeat.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return s.inTxAt(ctx, s.isolation, fn)
}

// inTxAt is inTx at the given isolation level.
func (s *Store) inTxAt(ctx context.Context, iso pgx.TxIsoLevel, fn func(pgx.Tx) error) error {
	return s.retry(ctx, func() error { return runTx(ctx, s.pool, iso, fn) })
}

// commitTimeout bounds a commit, which ctx does not cut (runTx), and the
// rollback of a transaction that failed.
var commitTimeout = 30 * time.Second

// runTx runs fn in a transaction and commits it. Once fn has done its work, the
// commit runs to its end whatever becomes of ctx: a commit cut off midway may
// have committed on the server or not, and its caller would be told that it
// failed either way (a Put would report objects not stored that were). When ctx
// ended during fn, the error says so, whatever the driver reported (a COPY cut
// off reports its closed connection).
func runTx(ctx context.Context, pool *pgxpool.Pool, iso pgx.TxIsoLevel, fn func(pgx.Tx) error) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: iso})
	if err != nil {
		return err
	}
	detached := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	}
	defer func() { // after a commit, nothing to do
		c, cancel := detached()
		defer cancel()
		_ = tx.Rollback(c)
	}()
	if err := fn(tx); err != nil {
		return store.Stopped(ctx, err)
	}
	c, cancel := detached()
	defer cancel()
	return tx.Commit(c)
}

// exec runs one statement outside an explicit transaction, again when it loses a
// race as inTx does: where the database's default isolation is SERIALIZABLE (as on
// CockroachDB), a lone statement can fail so too.
func (s *Store) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := s.retry(ctx, func() error {
		var err error
		tag, err = s.pool.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// retry calls run until it succeeds, fails otherwise than retryably, has been tried
// s.maxAttempts times, or ctx is done, pausing between attempts.
func (s *Store) retry(ctx context.Context, run func() error) error {
	var err error
	for attempt := 1; ; attempt++ {
		err = run()
		if err == nil || !retryable(err) {
			return err
		}
		if attempt >= s.maxAttempts {
			return fmt.Errorf("gave up after %d attempts: %w", attempt, err)
		}
		s.retries.Add(1)
		t := time.NewTimer(backoff(attempt))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (while retrying after: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}
