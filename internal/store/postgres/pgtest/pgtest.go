// Package pgtest gives tests a real PostgreSQL store in a database of their own: the
// server comes from QUADSHARE_PG_URL (default postgres://postgres@127.0.0.1:5432/test),
// each call creates a fresh database quadshare_test_<random> and drops it when the test
// ends, and tests skip, saying how to run them, when no server answers.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"quadshare/internal/store"
	"quadshare/internal/store/postgres"
)

// DefaultURL is the server tried when QUADSHARE_PG_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/test"

// ServerURL returns the URL of the server (and of a database on it to connect to
// while creating others).
func ServerURL() string {
	if u := os.Getenv("QUADSHARE_PG_URL"); u != "" {
		return u
	}
	return DefaultURL
}

// NewDatabase creates a fresh empty database on the server, drops it when t ends, and
// returns its URL. It skips t when no server answers, unless QUADSHARE_PG_REQUIRED=1,
// when it fails t instead.
func NewDatabase(t testing.TB) string {
	t.Helper()
	server := ServerURL()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, server)
	if err != nil {
		msg := fmt.Sprintf("no PostgreSQL server answers at %s (%v); to run these tests, start one "+
			"(trust auth) or set QUADSHARE_PG_URL=postgres://user@host:port/db", redact(server), err)
		if os.Getenv("QUADSHARE_PG_REQUIRED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	defer admin.Close(context.Background())

	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := "quadshare_test_" + hex.EncodeToString(b[:])
	// The name is ours, made of [a-z0-9_]: safe to splice into the statement.
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, server)
		if err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("pgtest: QUADSHARE_PG_URL must be a postgres:// URL, got %q", redact(server))
	}
	u.Path = "/" + name
	return u.String()
}

// OpenStore opens a postgres.Store on a fresh database (see NewDatabase) and closes it
// when t ends.
func OpenStore(t testing.TB, opts ...postgres.Option) *postgres.Store {
	t.Helper()
	dbURL := NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, WithPoolSize(dbURL, 4), opts...)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// OpenTest is OpenStore as a store.Store, the shape storetest and integration tests
// take a backend in.
func OpenTest(t testing.TB) store.Store { return OpenStore(t) }

// WithPoolSize returns dbURL with pool_max_conns set to n, so that many tests in
// parallel stay under the server's connection limit.
func WithPoolSize(dbURL string, n int) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		return dbURL
	}
	q := u.Query()
	q.Set("pool_max_conns", fmt.Sprint(n))
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
