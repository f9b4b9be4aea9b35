package cli

import (
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"

	"quadshare/internal/audit"
	"quadshare/internal/node"
	"quadshare/internal/store"
)

// The audit commands: verify reads the whole trail and says where it was changed;
// checkpoint signs the last record now (before a backup, or to hand the
// checkpoint to someone else).

func runAudit(ctx context.Context, e *Env, args []string) error {
	return dispatch(ctx, e, "audit", args, map[string]subcommand{
		"verify":     {"", runAuditVerify},
		"checkpoint": {"", runAuditCheckpoint},
	})
}

func runAuditVerify(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "audit verify", "")
	cfg, _, err := parseArgs(e, fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	// The key must exist: a new one would make every checkpoint look forged.
	key, err := node.LoadAuditKey(cfg.AuditKeyPath())
	if err != nil {
		return err
	}
	pub := key.Public().(ed25519.PublicKey)
	st, err := openStoreWithKey(ctx, cfg, key)
	if err != nil {
		return err
	}
	defer st.Close()
	rep, err := audit.Verify(ctx, store.AuditSource(st), pub)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "audit trail of %s\n", dbLocation(cfg))
	fmt.Fprintf(e.Stdout, "node key:    ed25519 %s (%s)\n", hex.EncodeToString(pub), cfg.AuditKeyPath())
	fmt.Fprintf(e.Stdout, "records:     %d", rep.Records)
	if rep.Records > 0 {
		fmt.Fprintf(e.Stdout, " (last seq %d, hash %s)", rep.LastSeq, rep.LastHash)
	}
	fmt.Fprintf(e.Stdout, "\ncheckpoints: %d, %d verified", rep.Checkpoints, rep.Verified)
	if rep.LastCheckpoint > 0 {
		fmt.Fprintf(e.Stdout, ", the last at seq %d", rep.LastCheckpoint)
	}
	fmt.Fprintln(e.Stdout)
	if rep.OK() {
		fmt.Fprintln(e.Stdout, "intact: every record is present, in order and unchanged")
		if rep.LastCheckpoint < rep.LastSeq {
			fmt.Fprintf(e.Stdout, "records after seq %d have no checkpoint yet: their removal would go unseen (quadshare audit checkpoint signs one)\n", rep.LastCheckpoint)
		}
		return nil
	}
	fmt.Fprintf(e.Stdout, "PROBLEMS: %s\n", plural(int(rep.Total), "problem"))
	for _, p := range rep.Problems {
		fmt.Fprintf(e.Stdout, "  seq %d: %s: %s\n", p.Seq, p.Kind, p.Message)
	}
	if more := rep.Total - int64(len(rep.Problems)); more > 0 {
		fmt.Fprintf(e.Stdout, "  ... and %d more\n", more)
	}
	return fmt.Errorf("%w: the audit trail was tampered with", errInvalid)
}

func runAuditCheckpoint(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "audit checkpoint", "")
	cfg, _, err := parseArgs(e, fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	key, err := node.LoadAuditKey(cfg.AuditKeyPath())
	if err != nil {
		return err
	}
	st, err := openStoreWithKey(ctx, cfg, key)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.SignAuditCheckpoint(ctx); err != nil {
		return err
	}
	last, ok, err := lastCheckpoint(ctx, st)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(e.Stdout, "the audit trail is empty: nothing to sign")
		return nil
	}
	// One line to keep elsewhere: it pins the trail up to this record.
	fmt.Fprintf(e.Stdout, "checkpoint seq %d hash %s time %s signature %s\n", last.Seq, last.Hash,
		last.Time.Format("2006-01-02T15:04:05.000000Z"), hex.EncodeToString(last.Signature))
	return nil
}

// lastCheckpoint pages to the newest checkpoint.
func lastCheckpoint(ctx context.Context, st store.Store) (audit.Checkpoint, bool, error) {
	var last audit.Checkpoint
	found := false
	for {
		page, err := st.AuditCheckpoints(ctx, last.Seq, store.MaxAuditPage)
		if err != nil {
			return last, false, err
		}
		if len(page) == 0 {
			return last, found, nil
		}
		last, found = page[len(page)-1], true
		if len(page) < store.MaxAuditPage {
			return last, true, nil
		}
	}
}
