// Package postgres is the scale-out store: PostgreSQL (or a PostgreSQL-compatible
// engine) through pgx, for several quadshare processes sharing one database. It keeps
// exactly the semantics of the embedded SQLite store; both pass storetest.
package postgres

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"quadshare/internal/store"
)

// Store is a store.Store on PostgreSQL.
type Store struct {
	pool        *pgxpool.Pool
	isolation   pgx.TxIsoLevel
	maxAttempts int
	retries     atomic.Int64
	audit       auditState

	collectionIDs sync.Map // collection id or alias -> id, see collectionID
}

var _ store.Store = (*Store)(nil)

type options struct {
	autoMigrate bool
	isolation   pgx.TxIsoLevel
	maxAttempts int
	auditKey    ed25519.PrivateKey
}

// An Option changes how Open opens the store.
type Option func(*options)

// WithoutAutoMigrate makes Open refuse to apply migrations: when the schema is behind,
// Open fails with an error wrapping ErrPendingMigrations that names the versions, and
// an operator runs "quadshare migrate" first. For production, where schema changes are
// a deliberate step.
func WithoutAutoMigrate() Option { return func(o *options) { o.autoMigrate = false } }

// WithSerializable runs every read-write transaction at SERIALIZABLE isolation, as
// CockroachDB always does. Transactions that lose a serialization race are retried.
func WithSerializable() Option { return func(o *options) { o.isolation = pgx.Serializable } }

// WithMaxAttempts sets how many times a transaction is tried in all before a
// serialization failure is returned to the caller (default 10).
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = max(1, n) } }

// Open connects to the database at url (a postgres:// URL or a key=value DSN; pgxpool
// settings such as pool_max_conns may be given in it), brings the schema up to date
// unless WithoutAutoMigrate is given, and returns the store.
func Open(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o := options{autoMigrate: true, isolation: pgx.ReadCommitted, maxAttempts: 10}
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	cfg.AfterConnect = connectionSettings
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := checkSchema(ctx, pool, o.autoMigrate); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	s := &Store{pool: pool, isolation: o.isolation, maxAttempts: o.maxAttempts}
	if err := s.initAudit(o.auditKey); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	return s, nil
}

// connectionSettings sets up each connection. A setting an engine does not have
// (SQLSTATE 42704), does not support (0A000) or takes no such value of (22023)
// is left as it is.
//
// No parallel query: a page is at most a few thousand index probes, which a
// parallel plan only slows down: starting workers and merging their rows cost
// more than they save, most of all on a busy server (we measured pages of 1,000
// ten times slower at 100,000 objects).
func connectionSettings(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, "SET max_parallel_workers_per_gather = 0")
	if err != nil && !isCode(err, "42704", "0A000", "22023") {
		return fmt.Errorf("postgres: connection settings: %w", err)
	}
	return nil
}

func checkSchema(ctx context.Context, pool *pgxpool.Pool, auto bool) error {
	pending, unknown, err := schemaState(ctx, pool)
	if err != nil {
		return fmt.Errorf("schema state: %w", err)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("the database has schema versions %v that this binary does not know: run a newer quadshare", unknown)
	}
	if len(pending) == 0 {
		return nil
	}
	if !auto {
		return fmt.Errorf("%w: versions %v (run \"quadshare migrate\")", ErrPendingMigrations, pending)
	}
	_, err = migrate(ctx, pool)
	return err
}

// Close closes the connection pool. Every Put that returned has committed.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Analyze updates the planner's statistics of the object tables. Autovacuum does it
// in the background; this is for right after a bulk import.
func (s *Store) Analyze(ctx context.Context) error {
	if _, err := s.pool.Exec(ctx, `ANALYZE collections, versions, entries`); err != nil {
		return fmt.Errorf("postgres: analyze: %w", err)
	}
	return nil
}

// Retries returns how many transactions were run again after a serialization failure
// or deadlock since the store was opened.
func (s *Store) Retries() int64 { return s.retries.Load() }

// Bounds of what nanoseconds since the epoch in an int64 can hold (years 1678 to 2262).
var (
	minNanos = time.Unix(0, math.MinInt64+1)
	maxNanos = time.Unix(0, math.MaxInt64)
)

// Instants that callers set are kept as nanoseconds since the epoch, NULL for zero;
// instants outside years 1678..2262 are clamped to them.
func nanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	var n int64
	switch {
	case t.Before(minNanos):
		n = math.MinInt64 + 1
	case t.After(maxNanos):
		n = math.MaxInt64
	default:
		n = t.UnixNano()
	}
	return &n
}

func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// date_added is kept in microseconds.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func micros(t time.Time) int64 { return t.UnixMicro() }

// notFound wraps store.ErrNotFound for a missing row, and for a key that no row
// can have: text PostgreSQL refuses (SQLSTATE 22021: U+0000, or bytes that are
// not UTF-8), which a client may send where a name or an id goes.
func notFound(err error, what string) error {
	if errors.Is(err, pgx.ErrNoRows) || isCode(err, codeNotInRepertoire) {
		return fmt.Errorf("postgres: %s: %w", what, store.ErrNotFound)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}
