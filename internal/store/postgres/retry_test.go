package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"quadshare/internal/store/postgres"
	"quadshare/internal/store/postgres/pgtest"
)

// raceIncrements runs two SERIALIZABLE transactions that both read a counter, wait
// until the other has read it too, and then both write it: PostgreSQL must fail one of
// them with SQLSTATE 40001. It returns the transactions' errors, the number of attempts
// made, and the counter at the end.
func raceIncrements(t *testing.T, s *postgres.Store) (errs [2]error, attempts int64, final int) {
	t.Helper()
	ctx := t.Context()
	if _, err := s.Pool().Exec(ctx, `CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL);
		INSERT INTO counter VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	var bothRead sync.WaitGroup
	bothRead.Add(2)
	var tries atomic.Int64
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first := true
			errs[i] = s.InTx(ctx, func(tx pgx.Tx) error {
				tries.Add(1)
				var n int
				if err := tx.QueryRow(ctx, `SELECT n FROM counter WHERE id = 1`).Scan(&n); err != nil {
					return err
				}
				if first {
					first = false
					bothRead.Done()
					waitGroup(t, &bothRead, 10*time.Second)
				}
				_, err := tx.Exec(ctx, `UPDATE counter SET n = $1 WHERE id = 1`, n+1)
				return err
			})
		}()
	}
	wg.Wait()
	if err := s.Pool().QueryRow(ctx, `SELECT n FROM counter WHERE id = 1`).Scan(&final); err != nil {
		t.Fatal(err)
	}
	return errs, tries.Load(), final
}

func waitGroup(t *testing.T, wg *sync.WaitGroup, d time.Duration) {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		t.Error("barrier timed out")
	}
}

func TestRetryOnSerializationFailure(t *testing.T) {
	s := pgtest.OpenStore(t, postgres.WithSerializable())
	errs, attempts, final := raceIncrements(t, s)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("transaction %d: %v", i, err)
		}
	}
	if final != 2 {
		t.Fatalf("counter %d after two increments, want 2 (a lost update)", final)
	}
	if attempts != 3 || s.Retries() != 1 {
		t.Fatalf("%d attempts, %d retries; want 3 attempts, 1 retry", attempts, s.Retries())
	}
}

// TestSerializationFailureWithoutRetry shows the race above is real: with one attempt
// allowed, one transaction fails with 40001.
func TestSerializationFailureWithoutRetry(t *testing.T) {
	s := pgtest.OpenStore(t, postgres.WithSerializable(), postgres.WithMaxAttempts(1))
	errs, _, final := raceIncrements(t, s)
	failed := 0
	for _, err := range errs {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "40001" {
			failed++
		} else if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if failed != 1 || final != 1 {
		t.Fatalf("%d transactions failed with 40001 and the counter is %d; want 1 and 1", failed, final)
	}
}

func TestRetryStopsWithContext(t *testing.T) {
	s := pgtest.OpenStore(t)
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		calls++
		cancel()
		return &pgconn.PgError{Code: "40001", Message: "synthetic"}
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("after cancel: %v with %d calls; want context.Canceled after 1", err, calls)
	}
}
