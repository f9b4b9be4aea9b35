package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"quadshare/internal/store"
)

const (
	maxSearchWords = 16
	maxWordLen     = 100 // bytes
)

// isWordRune says which characters make up words, in stored text and in queries alike
// (as the embedded store): letters, digits and marks.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf { // the same answer, without the tables
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}

// cutWord cuts a word to maxWordLen bytes at a rune boundary.
func cutWord(w string) string {
	if len(w) <= maxWordLen {
		return w
	}
	cut := 0
	for j := range w {
		if j > maxWordLen {
			break
		}
		cut = j
	}
	return w[:cut]
}

// searchWords splits text into lower-case words, runs of letters, digits and marks
// (as the embedded store does): at most maxSearchWords, each cut to maxWordLen bytes
// at a rune boundary. No character of the user's text is read as query syntax.
func searchWords(text string) []string {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !isWordRune(r) })
	if len(words) > maxSearchWords {
		words = words[:maxSearchWords]
	}
	for i, w := range words {
		words[i] = cutWord(w)
	}
	return words
}

// Limits of a PostgreSQL tsvector: positions are 14 bits, a lexeme keeps at most 256
// of them, and lexemes with their positions take at most 1 MiB in all (less a margin
// for the server's alignment).
const (
	maxLexemePos   = 1<<14 - 1
	maxLexemeCount = 256
	maxLexemeBytes = 1<<20 - 1<<12
)

// lexemes is the full-text index value of an object version: the words of its name,
// then of its description, split and cut exactly as searchWords splits a query, with
// their positions (from 1). It is computed here rather than by to_tsvector on the
// server, which cost about a third of an ingest's server time, and so that stored
// words and query words are split by one rule. Words past the tsvector's limits are
// left out of the index (they stay in the object).
func lexemes(name, description string) pgtype.TSVector {
	type wordAt struct {
		word string
		pos  uint16
	}
	all := make([]wordAt, 0, 32)
	pos := 0
	add := func(w string) {
		pos = min(pos+1, maxLexemePos) // past the last position, all words share it
		all = append(all, wordAt{cutWord(w), uint16(pos)})
	}
	for _, text := range [2]string{name, description} {
		text = strings.ToLower(text)
		start := -1 // of the current word
		for i, r := range text {
			switch {
			case isWordRune(r):
				if start < 0 {
					start = i
				}
			case start >= 0:
				add(text[start:i])
				start = -1
			}
		}
		if start >= 0 {
			add(text[start:])
		}
	}
	// The server keeps lexemes in byte order and trusts a sender's order only if it is
	// sorted; each word's positions must rise.
	slices.SortFunc(all, func(a, b wordAt) int {
		if c := strings.Compare(a.word, b.word); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	tsv := pgtype.TSVector{Valid: true}
	positions := make([]pgtype.TSVectorPosition, 0, len(all))
	size := 0
	for i := 0; i < len(all); {
		w, from := all[i].word, len(positions)
		cost := len(w) + 4 // the word, its alignment and its count of positions
		for ; i < len(all) && all[i].word == w; i++ {
			n := len(positions) - from
			if n >= maxLexemeCount || (n > 0 && positions[len(positions)-1].Position >= all[i].pos) ||
				size+cost+2*(n+1) > maxLexemeBytes {
				continue
			}
			positions = append(positions, pgtype.TSVectorPosition{Position: all[i].pos})
		}
		if n := len(positions) - from; n > 0 {
			size += cost + 2*n
			tsv.Lexemes = append(tsv.Lexemes, pgtype.TSVectorLexeme{Word: w, Positions: positions[from:len(positions):len(positions)]})
		}
	}
	return tsv
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
	// A tsquery value as it is, not to_tsquery: its words are already split, folded and
	// cut as the stored lexemes are (see lexemes), and must not be split again.
	tsq := a.add(tsquery(words)) + "::tsquery"
	where := []string{"v.tsv @@ " + tsq}
	if len(q.Collections) > 0 {
		where = append(where, "e.collection = ANY("+a.add(q.Collections)+"::text[])")
	}
	if len(q.Types) > 0 {
		where = append(where, "e.type = ANY("+a.add(q.Types)+"::text[])")
	}
	// The latest version per collection, as the embedded store.
	where = append(where, "e.is_last")
	// The newest candidates, then the best of them (store.SearchCandidates).
	sql := `SELECT date_added, submitter, id, type, spec_version, created, modified, revoked, name, description, raw, collection FROM (
		SELECT ` + entryColumns + `, e.collection, v.tsv FROM versions v JOIN entries e ON e.vid = v.vid
		WHERE ` + strings.Join(where, " AND ") + `
		ORDER BY e.date_added DESC LIMIT ` + a.add(store.SearchCandidates) + `) c
		ORDER BY ts_rank(c.tsv, ` + tsq + `) DESC, date_added LIMIT ` + a.add(clampLimit(q.Limit))
	rows, err := s.pool.Query(ctx, sql, execArgs(a)...)
	if err != nil {
		return nil, fmt.Errorf("postgres: search: %w", err)
	}
	es, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Entry, error) {
		var collection string
		e, err := scanEntry(extraColumn{r, &collection})
		e.Collection = collection
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: search: %w", err)
	}
	return es, nil
}

// extraColumn scans one more column after those its caller asks for.
type extraColumn struct {
	row   pgx.Row
	extra any
}

func (x extraColumn) Scan(dest ...any) error { return x.row.Scan(append(dest, x.extra)...) }
