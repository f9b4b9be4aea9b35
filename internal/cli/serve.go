package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"quadshare/internal/node"
)

func runServe(ctx context.Context, e *Env, args []string) error {
	fset, cf := flags(e, "serve", "[flags]")
	cf.BindServeFlags()
	cfg, err := parse(e, fset, cf, args)
	if err != nil {
		return err
	}
	log := newLogger(e.Stderr, cfg.LogJSON)
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := node.Start(ctx, cfg, st, log)
	if err != nil {
		return err
	}

	fmt.Fprintf(e.Stdout, "quadshare listening on %s/taxii2/\n", n.URL)
	fmt.Fprintf(e.Stdout, "data directory: %s\ndatabase: %s\n", cfg.DataDir, dbLocation(cfg))
	if n.TLS != nil {
		what := "server certificate"
		if n.TLSCreated {
			what = "new server certificate (created now, signed by the node's local CA)"
		}
		fmt.Fprintf(e.Stdout, "%s: %s\nSHA-256 fingerprint: %s\n", what, n.TLS.CertFile, n.TLS.Fingerprint)
	} else {
		fmt.Fprintln(e.Stdout, "WARNING: plain HTTP without TLS (-insecure-http): for local development only")
	}
	if users, err := st.Users(ctx); err == nil && len(users) == 0 {
		fmt.Fprintln(e.Stdout, "no users yet: create one with 'quadshare user add NAME --org ORG --role admin' and 'quadshare token create NAME'")
	}

	select {
	case err := <-n.Done():
		return err
	case <-ctx.Done():
	}
	fmt.Fprintln(e.Stdout, "shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Close(stopCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
