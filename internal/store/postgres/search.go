package postgres

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	"quadshare/internal/store"
)

const (
	maxSearchWords = 16
	maxWordLen     = 100 // bytes
)

// searchWords splits text into lower-case words, runs of letters, digits and marks
// (as the embedded store does): at most maxSearchWords, each cut to maxWordLen bytes
// at a rune boundary. No character of the user's text is read as query syntax.
func searchWords(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
	if len(words) > maxSearchWords {
		words = words[:maxSearchWords]
	}
	for i, w := range words {
		if len(w) > maxWordLen {
			cut := 0
			for j := range w {
				if j > maxWordLen {
					break
				}
				cut = j
			}
			words[i] = w[:cut]
		}
	}
	return words
}

// tsquery builds "w1 & w2 & w3:*": every word, the last as a prefix. Words are quoted
// as tsquery lexemes, so no input can change the query's shape.
func tsquery(words []string) string {
	parts := make([]string, len(words))
	for i, w := range words {
		parts[i] = "'" + strings.ReplaceAll(w, "'", "''") + "'"
		if i == len(words)-1 {
			parts[i] += ":*"
		}
	}
	return strings.Join(parts, " & ")
}

// Search returns the latest versions, per collection, in the given collections (all
// when none), whose name or description holds every word of q.Text, the last word as
// a prefix; best matches first.
func (s *Store) Search(ctx context.Context, q store.SearchQuery) ([]store.Entry, error) {
	words := searchWords(q.Text)
	if len(words) == 0 {
		return nil, nil
	}
	if len(q.Collections) > maxFilterList || len(q.Types) > maxFilterList {
		return nil, fmt.Errorf("postgres: search: more than %d values in a filter", maxFilterList)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("postgres: search: %w", err)
	}
	var a args
	tsq := "to_tsquery('simple', " + a.add(tsquery(words)) + ")"
	where := []string{"v.tsv @@ " + tsq}
	if len(q.Collections) > 0 {
		where = append(where, "e.collection = ANY("+a.add(q.Collections)+"::text[])")
	}
	if len(q.Types) > 0 {
		where = append(where, "e.type = ANY("+a.add(q.Types)+"::text[])")
	}
	// The latest version per collection, as the embedded store.
	where = append(where, "e.is_last")
	sql := `SELECT ` + entryColumns + ` FROM versions v JOIN entries e ON e.id = v.id AND e.ver = v.ver
		WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY ts_rank(v.tsv, ` + tsq + `) DESC, e.date_added LIMIT ` + a.add(clampLimit(q.Limit))
	rows, err := s.pool.Query(ctx, sql, execArgs(a)...)
	if err != nil {
		return nil, fmt.Errorf("postgres: search: %w", err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Entry, error) { return scanEntry(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: search: %w", err)
	}
	return es, nil
}
