package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"quadshare/internal/ingest"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

const maxListedRejections = 50

func runImport(ctx context.Context, e *Env, args []string) error {
	fset, cf := flags(e, "import", "[flags] FILE|DIR|-")
	coll := fset.String("collection", "default", "collection id or alias to import into (created when it is the default and missing)")
	batch := fset.Int("batch", 10000, "objects per transaction")
	quiet := fset.Bool("quiet", false, "no progress bar")
	cfg, err := parse(e, fset, cf, args)
	if err != nil {
		return err
	}
	if *batch < 1 || *batch > 100_000 {
		return fmt.Errorf("%w: -batch %d: want 1 to 100000 objects per transaction", errUsage, *batch)
	}
	if fset.NArg() == 0 {
		return fmt.Errorf("%w: name a FILE, a DIR or - for standard input", errUsage)
	}
	ctx = store.WithActor(ctx, cliActor) // the audit receipts name the CLI, the detail the submitter
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := ensureCollection(ctx, st, *coll)
	if err != nil {
		return err
	}

	sources, total, err := listSources(fset.Args())
	if err != nil {
		return err
	}
	bar := newProgress(e.Stderr, total, !*quiet)
	var sum ingest.Summary
	var listed int
	start := time.Now()
	opt := ingest.Options{
		Collection: c.ID,
		BatchSize:  *batch,
		Progress:   bar.update,
		Reject: func(r ingest.Rejection) {
			if listed < maxListedRejections {
				bar.println(e.Stderr, "rejected: "+r.String())
			}
			listed++
		},
	}
	var failed []string
	for _, src := range sources {
		if err := importOne(ctx, e, st, src, opt, &sum); err != nil {
			if ctx.Err() != nil {
				bar.done()
				fmt.Fprintf(e.Stdout, "interrupted: %s\n", summaryLine(sum, time.Since(start)))
				return ctx.Err()
			}
			if errors.Is(err, ingest.ErrStore) {
				bar.done()
				return err
			}
			failed = append(failed, err.Error())
			bar.println(e.Stderr, "error: "+err.Error())
		}
	}
	bar.done()
	if listed > maxListedRejections {
		fmt.Fprintf(e.Stderr, "(%d more rejections not listed)\n", listed-maxListedRejections)
	}
	fmt.Fprintf(e.Stdout, "%s into collection %s\n", summaryLine(sum, time.Since(start)), c.ID)
	if len(failed) > 0 || sum.Rejected > 0 {
		return errInvalid
	}
	return nil
}

func importOne(ctx context.Context, e *Env, st store.Store, src string, opt ingest.Options, sum *ingest.Summary) error {
	if src == "-" {
		return ingest.Stream(ctx, st, "-", e.Stdin, opt, sum)
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	return ingest.Stream(ctx, st, src, f, opt, sum)
}

// listSources expands directories into their .json files, sorted, and sums the sizes.
func listSources(args []string) ([]string, int64, error) {
	var out []string
	var total int64
	for _, a := range args {
		if a == "-" {
			out = append(out, a)
			continue
		}
		info, err := os.Stat(a)
		if err != nil {
			return nil, 0, err
		}
		if !info.IsDir() {
			out = append(out, a)
			total += info.Size()
			continue
		}
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".json") {
				if fi, err := d.Info(); err == nil {
					total += fi.Size()
				}
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			return nil, 0, err
		}
	}
	return out, total, nil
}

// ensureCollection finds a collection by id or alias, creating "default" on first use.
func ensureCollection(ctx context.Context, st store.Store, idOrAlias string) (store.Collection, error) {
	c, err := st.Collection(ctx, idOrAlias)
	if err == nil || !errors.Is(err, store.ErrNotFound) || idOrAlias != "default" {
		if errors.Is(err, store.ErrNotFound) {
			return c, fmt.Errorf("collection %q does not exist (see quadshare collection add)", idOrAlias)
		}
		return c, err
	}
	c = store.Collection{ID: uuid.New(), Alias: "default", Title: "Default", Description: "Objects imported without a named collection", MediaTypes: []string{"application/stix+json;version=2.1"}, CreatedAt: time.Now().UTC()}
	if err := st.CreateCollection(ctx, c); err != nil {
		return c, err
	}
	return c, nil
}

func summaryLine(s ingest.Summary, d time.Duration) string {
	rate := float64(s.Read) / max(d.Seconds(), 1e-9)
	return fmt.Sprintf("read %s in %s (%.0f/s): %d imported, %d duplicates, %d rejected",
		plural(s.Read, "object"), d.Round(time.Millisecond), rate, s.Added, s.Duplicates, s.Rejected)
}
