package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"quadshare/internal/store"
)

func runSearch(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "search", "[flags] WORDS...")
	var colls, types csvFlag
	fs.Var(&colls, "collection", "collection id or alias (repeatable; default: every collection)")
	fs.Var(&types, "type", "object type (repeatable or comma-separated; default: all)")
	limit := fs.Int("limit", 20, "most results shown (1-1000)")
	forWhom := fs.String("for", "agency", "recipient the sharing policy decides for: agency, user:NAME or partner:NATION")
	cfg, words, err := parseMixed(e, fs, cf, args)
	if err != nil {
		return err
	}
	text := strings.Join(words, " ")
	if strings.TrimSpace(text) == "" || len(text) > 1000 {
		return fmt.Errorf("%w: give 1 to 1000 characters of words to search for", errUsage)
	}
	if *limit < 1 || *limit > 1000 {
		return fmt.Errorf("%w: -limit %d: want 1 to 1000", errUsage, *limit)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rd, err := readerFor(ctx, cfg, st, *forWhom)
	if err != nil {
		return err
	}
	list, err := collectionsFor(ctx, st, rd.d.Recipient, colls)
	if err != nil {
		return err
	}
	// Each collection is searched and released on its own, as the recipient's
	// rights differ by collection; what is shown is recorded, nothing more.
	var shown []store.Entry
	seen := make(map[string]struct{})
	for _, c := range list {
		found, err := st.Search(ctx, store.SearchQuery{Text: text, Collections: []string{c.ID}, Types: types, Limit: *limit})
		if err != nil {
			return fmt.Errorf("search: %w", err)
		}
		fresh := found[:0]
		for _, en := range found {
			if _, dup := seen[versionKey(en)]; !dup && len(shown)+len(fresh) < *limit {
				fresh = append(fresh, en)
			}
		}
		released, err := rd.release(ctx, c, "search", fresh)
		if err != nil {
			return err
		}
		for _, en := range released {
			seen[versionKey(en)] = struct{}{}
		}
		if shown = append(shown, released...); len(shown) >= *limit {
			break
		}
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tNAME")
	for _, en := range shown {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", en.Object.ID, en.Object.Type, dash(en.Object.Name))
	}
	return tw.Flush()
}
