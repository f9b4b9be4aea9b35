package cli

import (
	"context"
	"fmt"
	"strings"

	"quadshare/internal/config"
	"quadshare/internal/store"
	"quadshare/internal/store/postgres"
)

func openPostgres(ctx context.Context, cfg config.Config, opts ...postgres.Option) (store.Store, error) {
	if !cfg.AutoMigr {
		opts = append(opts, postgres.WithoutAutoMigrate())
	}
	st, err := postgres.Open(ctx, cfg.DB, opts...)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", redactURL(cfg.DB), err)
	}
	return st, nil
}

// runMigrate applies the pending schema migrations. SQLite migrates itself on open;
// PostgreSQL too, unless the node is configured to refuse automatic migration.
func runMigrate(ctx context.Context, e *Env, args []string) error {
	fset, cf := flags(e, "migrate", "[flags]")
	cfg, err := parse(e, fset, cf, args)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(cfg.DB, "postgres") {
		st, err := openStore(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "SQLite database %s is up to date\n", dbLocation(cfg))
		return st.Close()
	}
	applied, err := postgres.Migrate(ctx, cfg.DB)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(e.Stdout, "%s is up to date\n", redactURL(cfg.DB))
		return nil
	}
	fmt.Fprintf(e.Stdout, "applied migrations %v to %s\n", applied, redactURL(cfg.DB))
	return nil
}
