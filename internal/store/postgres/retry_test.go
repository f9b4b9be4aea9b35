package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"quadshare/internal/store"
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

// TestCommitAfterCancel: a transaction whose context ends once its work is done
// still commits, and says so; the bound of the commit does not bound the work.
func TestCommitAfterCancel(t *testing.T) {
	s := pgtest.OpenStore(t)
	defer postgres.SetCommitTimeout(time.Second)()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_sleep(1.5)`); err != nil { // longer than the commit's bound
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE committed_after_cancel (one int)`); err != nil {
			return err
		}
		cancel() // the client leaves: the work is done
		return nil
	})
	if err != nil {
		t.Fatalf("commit after the work: %v", err)
	}
	var n int
	if err := s.Pool().QueryRow(t.Context(), `SELECT count(*) FROM committed_after_cancel`).Scan(&n); err != nil {
		t.Fatalf("the transaction's table: %v", err)
	}
}

// TestLoneStatementsRetried runs, on a database whose default isolation is SERIALIZABLE
// (as CockroachDB's always is), a peer's counters updated by a lone statement while
// transactions write the same peer row: the statements that lose a serialization race
// are run again, so none fails.
func TestLoneStatementsRetried(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(t.Context(), pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	_, err = admin.Exec(t.Context(), "ALTER DATABASE "+pgx.Identifier{strings.TrimPrefix(u.Path, "/")}.Sanitize()+
		" SET default_transaction_isolation = 'serializable'")
	admin.Close(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(t.Context(), pgtest.WithPoolSize(dbURL, 4), postgres.WithSerializable(), postgres.WithMaxAttempts(50))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	peer := store.Peer{Name: "jp", Nation: "JP", URL: "https://jp.example/taxii2/", Fingerprint: strings.Repeat("ab", 32), PublicKey: make([]byte, 32)}
	if err := s.CreatePeer(ctx, peer); err != nil {
		t.Fatal(err)
	}
	if err := s.LeasePeer(ctx, "jp", "h", time.Minute); err != nil {
		t.Fatal(err)
	}
	stop := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() {
		for i := 0; time.Now().Before(stop); i++ {
			item := store.OutboxItem{ID: fmt.Sprintf("indicator--%08d-0000-4000-8000-000000000000", i), Version: "v", Raw: []byte("{}")}
			if _, err := s.Enqueue(ctx, "jp", "h", []store.OutboxItem{item}, "", ""); err != nil {
				errs <- fmt.Errorf("enqueue: %w", err)
				return
			}
		}
	})
	wg.Go(func() {
		for time.Now().Before(stop) {
			if err := s.RecordPeer(ctx, "jp", store.PeerEvent{Pulled: 1, Success: true}); err != nil {
				errs <- fmt.Errorf("record peer: %w", err)
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
