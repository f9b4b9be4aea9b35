package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"quadshare/internal/policy"
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
	g, d, err := recipientGate(ctx, cfg, st, *forWhom)
	if err != nil {
		return err
	}
	q := store.SearchQuery{Text: text, Types: types, Limit: *limit}
	if len(colls) > 0 || d.Recipient.Kind == policy.KindPartner {
		list, err := collectionsFor(ctx, st, d.Recipient, colls)
		if err != nil {
			return err
		}
		for _, c := range list {
			q.Collections = append(q.Collections, c.ID)
		}
	}
	var found []store.Entry
	// A query naming no collection searches every one: a partner's, which leaves
	// the inboxes out, has nothing to search when there are only inboxes.
	if len(q.Collections) > 0 || d.Recipient.Kind != policy.KindPartner {
		if found, err = st.Search(ctx, q); err != nil {
			return fmt.Errorf("search: %w", err)
		}
	}
	d.Subject, d.Endpoint = "search", "search"
	shown, err := g.Release(ctx, d, found)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTYPE\tNAME")
	for _, en := range shown {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", en.Object.ID, en.Object.Type, dash(en.Object.Name))
	}
	return tw.Flush()
}
