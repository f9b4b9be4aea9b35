package postgres_test

import (
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"quadshare/internal/store/postgres"
	"quadshare/internal/store/postgres/pgtest"
)

func TestLexemes(t *testing.T) {
	tsv := postgres.Lexemes("Grid-Wiper 2", "the wiper; THE grid, déjà vu")
	var got []string
	for _, l := range tsv.Lexemes {
		got = append(got, l.Word+":"+positions(l))
	}
	// Words: grid wiper 2 the wiper the grid déjà vu, in byte order.
	want := "2:3 déjà:8 grid:1,7 the:4,6 vu:9 wiper:2,5"
	if s := strings.Join(got, " "); s != want {
		t.Errorf("lexemes = %s, want %s", s, want)
	}
}

func positions(l pgtype.TSVectorLexeme) string {
	var b strings.Builder
	for i, p := range l.Positions {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strings.TrimSpace(p.String()))
	}
	return b.String()
}

// TestLexemesLimits stores text past every limit of a tsvector (positions, positions
// per word, word length, total size): the server must accept what lexemes makes of it,
// and the words within the limits must be found.
func TestLexemesLimits(t *testing.T) {
	s := pgtest.OpenStore(t)
	long := strings.Repeat("é", 80) // 160 bytes, cut to 100
	cases := map[string]string{
		"many positions": strings.Repeat("again ", 20_000) + "last",
		"long words":     long + " " + long + "x",
		"total size":     wordsOf(15_000),
	}
	for name, text := range cases {
		tsv := postgres.Lexemes("n", text)
		var ok bool
		if err := s.Pool().QueryRow(t.Context(), `SELECT $1::tsvector @@ 'n'::tsquery`, tsv).Scan(&ok); err != nil || !ok {
			t.Errorf("%s: stored %v, %v", name, ok, err)
		}
		for _, l := range tsv.Lexemes {
			if len(l.Word) > 100 || len(l.Positions) > 256 || len(l.Positions) == 0 {
				t.Errorf("%s: lexeme %.20q with %d positions", name, l.Word, len(l.Positions))
			}
		}
	}
}

// wordsOf returns n distinct words of 80 bytes, more than a tsvector holds in all.
func wordsOf(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat(string(rune('a'+i%26)), 70))
		b.WriteString(strings.Repeat(string(rune('a'+i/26%26)), 5))
		b.WriteString(strings.Repeat(string(rune('a'+i/676%26)), 5))
		b.WriteByte(' ')
	}
	return b.String()
}

func BenchmarkLexemes(b *testing.B) {
	name := "malware number 12345 seen in the wild"
	desc := "Observed by several operators in the energy and water sectors during the reporting period; shared under the partner agreement for correlation."
	for b.Loop() {
		postgres.Lexemes(name, desc)
	}
}
