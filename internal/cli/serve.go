package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"quadshare/internal/config"

	"quadshare/internal/gate"
	"quadshare/internal/gctune"
	"quadshare/internal/node"
	"quadshare/internal/store"
)

// reloadPolicy reads the policy file again (SIGHUP) and puts it in force when it
// is valid and its change is recorded; otherwise the policy in force stays.
func reloadPolicy(ctx context.Context, cfg config.Config, st store.Store, n *node.Node, log *slog.Logger) {
	next, err := node.LoadPolicy(cfg)
	if err != nil {
		log.Error("policy: reload refused; the policy in force stays", slog.String("error", err.Error()))
		return
	}
	prev, pc := n.Gate.Policy().Config(), next.Config()
	if pc.Revision == prev.Revision {
		log.Info("policy: unchanged", slog.Int("revision", pc.Revision))
		return
	}
	if err := pc.CheckUpdate(&prev); err != nil {
		log.Error("policy: reload refused; the policy in force stays", slog.String("error", err.Error()))
		return
	}
	if err := recordPolicyChange(ctx, st, &prev, &pc); err != nil {
		log.Error("policy: reload refused: the change could not be recorded", slog.String("error", err.Error()))
		return
	}
	n.Gate.SetPolicy(next)
	log.Info("policy: in force", slog.Int("revision", pc.Revision))
}

// agencyName is the name of the organisation of the node's agency, for hints.
func agencyName(ctx context.Context, st store.Store, n *node.Node) string {
	if o, err := st.Organisation(ctx, gate.OrgID(n.Gate.Policy().Config().Agency)); err == nil {
		return o.Name
	}
	return "ORG"
}

func runServe(ctx context.Context, e *Env, args []string) error {
	fset, cf := flags(e, "serve", "[flags]")
	cf.BindServeFlags()
	cfg, err := parse(e, fset, cf, args)
	if err != nil {
		return err
	}
	log := newLogger(e.Stderr, cfg.LogJSON)
	gctune.ForServer()
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := node.LoadPolicy(cfg); errors.Is(err, node.ErrNoPolicy) {
		if err := initPolicy(ctx, e, cfg, st, defaultNation, defaultAgencyName); err != nil {
			return err
		}
	}
	n, err := node.Start(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

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
		fmt.Fprintf(e.Stdout, "no users yet: create one with 'quadshare user add NAME --org %q --role admin' and 'quadshare token create NAME'\n",
			agencyName(ctx, st, n))
	}

	for done := false; !done; {
		select {
		case err := <-n.Done():
			return err
		case <-ctx.Done():
			done = true
		case <-hup:
			reloadPolicy(ctx, cfg, st, n, log)
		}
	}
	fmt.Fprintln(e.Stdout, "shutting down")
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.Close(stopCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
