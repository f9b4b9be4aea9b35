package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// InTx exposes the retrying transaction runner to the tests.
func (s *Store) InTx(ctx context.Context, fn func(pgx.Tx) error) error { return s.inTx(ctx, fn) }

// Pool exposes the connection pool to the tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Lexemes exposes the full-text value of a version's text to the tests.
var Lexemes = lexemes

// SetCommitTimeout sets the bound of a commit until the returned restore.
func SetCommitTimeout(d time.Duration) (restore func()) {
	old := commitTimeout
	commitTimeout = d
	return func() { commitTimeout = old }
}
