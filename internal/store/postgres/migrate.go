package postgres

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// ErrPendingMigrations is wrapped by Open when the schema is behind this binary and
// automatic migration was refused; the message names the pending versions.
var ErrPendingMigrations = errors.New("pending schema migrations")

// A migration is one embedded file "NNNN_name.sql", applied in one transaction.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in ascending version order.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, path := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".sql")
		num, name, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", path)
		}
		b, err := migrationFiles.ReadFile(path)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("two migrations numbered %d", ms[i].version)
		}
	}
	return ms, nil
}

// Bookkeeping tables. The lease table is the lock that lets one process at a time
// migrate; it is an ordinary row with an expiry rather than an advisory lock, so the same
// code works on PostgreSQL-compatible engines that have no advisory locks, and a process
// that dies while migrating stops blocking the others once its lease expires.
const bootstrapSQL = `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer PRIMARY KEY,
	name       text NOT NULL,
	applied_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS schema_lease (
	name       text PRIMARY KEY,
	holder     text NOT NULL,
	expires_at timestamptz NOT NULL
);`

const (
	leaseName = "migrate"
	leaseTTL  = 2 * time.Minute
	// leaseWait bounds how long Migrate waits for another process's lease.
	leaseWait = 10 * time.Minute
)

// Migrate applies every pending embedded migration to the database at url and returns
// the versions it applied. Several processes may call it at once: one applies, the
// others wait for its lease and then find nothing left to do.
func Migrate(ctx context.Context, url string) ([]int, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer pool.Close()
	return migrate(ctx, pool)
}

func migrate(ctx context.Context, pool *pgxpool.Pool) ([]int, error) {
	ms, err := migrations()
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	if err := bootstrap(ctx, pool); err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	holder, err := newHolder()
	if err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	if err := acquireLease(ctx, pool, holder); err != nil {
		return nil, fmt.Errorf("postgres: migrate: %w", err)
	}
	defer func() {
		// Release even when ctx is done, so others need not wait for the expiry.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_, _ = pool.Exec(rctx, `DELETE FROM schema_lease WHERE name = $1 AND holder = $2`, leaseName, holder)
	}()

	var applied []int
	for _, m := range ms {
		did, err := applyOne(ctx, pool, holder, m)
		if err != nil {
			return applied, fmt.Errorf("postgres: migrate: version %d (%s): %w", m.version, m.name, err)
		}
		if did {
			applied = append(applied, m.version)
		}
	}
	return applied, nil
}

// bootstrap creates the bookkeeping tables. Two processes creating the same table at
// the same moment can make one of them fail even with IF NOT EXISTS: on the catalog's
// unique index (23505), or as "relation" (42P07) or "type already exists" (42710, the
// table's row type). That one tries again and then finds the table.
func bootstrap(ctx context.Context, pool *pgxpool.Pool) error {
	var err error
	for attempt := 1; attempt <= 5; attempt++ {
		_, err = pool.Exec(ctx, bootstrapSQL)
		if err == nil || !(isCode(err, codeUniqueViolation) || isCode(err, "42P07") || isCode(err, "42710") || retryable(err)) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff(attempt)):
		}
	}
	return err
}

func newHolder() (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b[:])), nil
}

// acquireLease takes the migration lease: it inserts the lease row, or takes it over
// when it has expired, and otherwise waits and tries again.
func acquireLease(ctx context.Context, pool *pgxpool.Pool, holder string) error {
	deadline := time.Now().Add(leaseWait)
	for attempt := 1; ; attempt++ {
		var got string
		err := pool.QueryRow(ctx, `
			INSERT INTO schema_lease (name, holder, expires_at)
			VALUES ($1, $2, now() + $3 * interval '1 millisecond')
			ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
			WHERE schema_lease.expires_at < now()
			RETURNING holder`, leaseName, holder, leaseTTL.Milliseconds()).Scan(&got)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, pgx.ErrNoRows), retryable(err):
			// Held by someone else; wait.
		default:
			return fmt.Errorf("take lease: %w", err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("take lease: another process has held it for over %v", leaseWait)
		}
		t := time.NewTimer(50*time.Millisecond + backoff(min(attempt, 6)))
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("take lease: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// applyOne applies m unless it already is, in one transaction that also renews the
// lease: the renewal locks the lease row until commit, so no other process can take the
// lease over while a migration is half done, and a process whose lease was taken over
// (because it stalled past the expiry) applies nothing more. Like every transaction
// of the store, its commit is not cut by ctx (runTx).
func applyOne(ctx context.Context, pool *pgxpool.Pool, holder string, m migration) (bool, error) {
	did := false
	err := runTx(ctx, pool, "", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			UPDATE schema_lease SET expires_at = now() + $3 * interval '1 millisecond'
			WHERE name = $1 AND holder = $2`, leaseName, holder, leaseTTL.Milliseconds())
		if err != nil {
			return fmt.Errorf("renew lease: %w", err)
		}
		if tag.RowsAffected() != 1 {
			return errors.New("lost the migration lease")
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return nil
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
			return err
		}
		did = true
		return nil
	})
	return did, err
}

// schemaState returns the embedded versions not yet applied, and the applied versions
// this binary does not know (a newer binary migrated the database).
func schemaState(ctx context.Context, pool *pgxpool.Pool) (pending, unknown []int, err error) {
	ms, err := migrations()
	if err != nil {
		return nil, nil, err
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return nil, nil, err
	}
	var applied []int
	if exists {
		rows, err := pool.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			return nil, nil, err
		}
		applied, err = pgx.CollectRows(rows, pgx.RowTo[int])
		if err != nil {
			return nil, nil, err
		}
	}
	known := make(map[int]bool, len(ms))
	for _, m := range ms {
		known[m.version] = true
		if !slices.Contains(applied, m.version) {
			pending = append(pending, m.version)
		}
	}
	for _, v := range applied {
		if !known[v] {
			unknown = append(unknown, v)
		}
	}
	return pending, unknown, nil
}

// Pending returns the versions of the embedded migrations not yet applied to the
// database at url (for "migrate --status" and for refusing to start).
func Pending(ctx context.Context, url string) ([]int, error) {
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer pool.Close()
	pending, _, err := schemaState(ctx, pool)
	if err != nil {
		return nil, fmt.Errorf("postgres: schema state: %w", err)
	}
	return pending, nil
}
