package pgtest_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"quadshare/internal/store/postgres/pgtest"
)

// TestNewDatabase checks that each call gives a fresh database that is gone once its
// test has ended.
func TestNewDatabase(t *testing.T) {
	var names []string
	for range 2 {
		t.Run("use", func(t *testing.T) {
			dbURL := pgtest.NewDatabase(t)
			u, err := url.Parse(dbURL)
			if err != nil {
				t.Fatal(err)
			}
			name := strings.TrimPrefix(u.Path, "/")
			if !strings.HasPrefix(name, "quadshare_test_") {
				t.Fatalf("database %q", name)
			}
			names = append(names, name)
			conn, err := pgx.Connect(t.Context(), dbURL)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close(context.Background())
			var tables int
			if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil || tables != 0 {
				t.Fatalf("fresh database has %d tables (%v)", tables, err)
			}
		})
	}
	if len(names) == 0 && !t.Failed() {
		t.Skip("no PostgreSQL server (the subtests said so)")
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %q, want two different ones", names)
	}
	conn, err := pgx.Connect(t.Context(), pgtest.ServerURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var left int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_database WHERE datname = ANY($1)`, names).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d test databases left after their tests (%v)", left, err)
	}
}
