package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"quadshare/internal/config"
	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
)

// openStore opens the database the configuration names: SQLite in the data directory
// by default, PostgreSQL for a postgres:// URL.
func openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	if strings.HasPrefix(cfg.DB, "postgres://") || strings.HasPrefix(cfg.DB, "postgresql://") {
		return openPostgres(ctx, cfg)
	}
	path := filepath.Join(cfg.DataDir, "quadshare.db")
	if p, ok := strings.CutPrefix(cfg.DB, "sqlite:"); ok {
		path = p
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return st, nil
}

// dbLocation says where data lives, for people.
func dbLocation(cfg config.Config) string {
	if strings.HasPrefix(cfg.DB, "postgres") {
		return redactURL(cfg.DB)
	}
	if p, ok := strings.CutPrefix(cfg.DB, "sqlite:"); ok {
		return p
	}
	return filepath.Join(cfg.DataDir, "quadshare.db")
}
