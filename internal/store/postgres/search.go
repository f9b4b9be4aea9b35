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
	maxSearchLimit = 1000
)

// searchWords splits text into the lower-case words that the 'simple' text search
// configuration would index: runs of letters and digits.
func searchWords(text string) []string {
	return strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsNumber(r)
	})
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

// Search returns the latest versions, in the given collections (all when none), whose
// name or description holds every word of q.Text, the last word as a prefix.
func (s *Store) Search(ctx context.Context, q store.SearchQuery) ([]store.Entry, error) {
	words := searchWords(q.Text)
	if len(words) == 0 {
		return nil, nil
	}
	if len(words) > maxSearchWords {
		return nil, fmt.Errorf("postgres: search: %d words, at most %d", len(words), maxSearchWords)
	}
	if len(q.Collections) > maxFilterList || len(q.Types) > maxFilterList {
		return nil, fmt.Errorf("postgres: search: more than %d values in a filter", maxFilterList)
	}
	limit := q.Limit
	if limit <= 0 || limit > maxSearchLimit {
		limit = maxSearchLimit
	}
	var a args
	where := []string{"v.tsv @@ to_tsquery('simple', " + a.add(tsquery(words)) + ")"}
	if len(q.Collections) > 0 {
		where = append(where, "e.collection = ANY("+a.add(q.Collections)+"::text[])")
	}
	if len(q.Types) > 0 {
		where = append(where, "e.type = ANY("+a.add(q.Types)+"::text[])")
	}
	where = append(where, `NOT EXISTS (SELECT 1 FROM entries e2 WHERE e2.collection = e.collection
		AND e2.id = e.id AND e2.ver > e.ver)`)
	sql := `SELECT ` + entryColumns + ` FROM versions v JOIN entries e ON e.id = v.id AND e.ver = v.ver
		WHERE ` + strings.Join(where, " AND ") + ` ORDER BY e.date_added LIMIT ` + a.add(limit)
	rows, err := s.pool.Query(ctx, sql, a...)
	if err != nil {
		return nil, fmt.Errorf("postgres: search: %w", err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Entry, error) { return scanEntry(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: search: %w", err)
	}
	return es, nil
}
