package cli

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"quadshare/internal/config"
	"quadshare/internal/node"
	"quadshare/internal/store"
	"quadshare/internal/store/postgres"
	"quadshare/internal/store/sqlite"
)

// cliActor is the actor of the audit records that commands append (accounts,
// collections, imports): the node's operator at its command line.
const cliActor = "node:cli"

// openStore opens the database the configuration names: SQLite in the data directory
// by default, PostgreSQL for a postgres:// URL. The store signs audit checkpoints
// with the node's audit key, which is created on first use.
func openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	key, _, err := node.LoadOrCreateAuditKey(cfg.AuditKeyPath())
	if err != nil {
		return nil, err
	}
	return openStoreWithKey(ctx, cfg, key)
}

// openStoreWithKey is openStore with the audit key given.
func openStoreWithKey(ctx context.Context, cfg config.Config, key ed25519.PrivateKey) (store.Store, error) {
	if strings.HasPrefix(cfg.DB, "postgres://") || strings.HasPrefix(cfg.DB, "postgresql://") {
		return openPostgres(ctx, cfg, postgres.WithAuditKey(key))
	}
	path := sqlitePath(cfg)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	st, err := sqlite.Open(ctx, path, sqlite.WithAuditKey(key))
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return st, nil
}

func sqlitePath(cfg config.Config) string {
	if p, ok := strings.CutPrefix(cfg.DB, "sqlite:"); ok {
		return p
	}
	return filepath.Join(cfg.DataDir, "quadshare.db")
}

// dbLocation says where data lives, for people.
func dbLocation(cfg config.Config) string {
	if strings.HasPrefix(cfg.DB, "postgres") {
		return redactURL(cfg.DB)
	}
	return sqlitePath(cfg)
}
