package stix

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestParseTimestampAgreesWithTime checks that ParseTimestamp, which reads the fields
// itself, accepts exactly the well-formed timestamps that time.Parse accepts, as the
// same instants: calendar edges, out-of-range fields, and random fields.
func TestParseTimestampAgreesWithTime(t *testing.T) {
	cases := []string{
		"2024-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2000-02-29T12:00:00Z", "1900-02-29T12:00:00Z",
		"2024-04-31T00:00:00Z", "2024-04-30T23:59:59.999999999Z", "2024-12-31T23:59:59Z", "2024-13-01T00:00:00Z",
		"2024-00-10T00:00:00Z", "2024-01-00T00:00:00Z", "2024-01-32T00:00:00Z", "2024-01-01T24:00:00Z",
		"2024-01-01T23:60:00Z", "2024-01-01T23:59:60Z", "0000-01-01T00:00:00Z", "9999-12-31T23:59:59.9Z",
		"2016-12-31T23:59:60Z", "2024-06-01T12:00:00.000Z", "2024-06-01T12:00:00.1234Z", "2024-06-01T12:00:00.000000001Z",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		frac := ""
		if n := rng.IntN(11); n > 0 && n <= 9 {
			frac = "."
			for range n {
				frac += fmt.Sprint(rng.IntN(10))
			}
		}
		cases = append(cases, fmt.Sprintf("%04d-%02d-%02dT%02d:%02d:%02d%sZ", rng.IntN(10000), rng.IntN(14), rng.IntN(33),
			rng.IntN(26), rng.IntN(62), rng.IntN(62), frac))
	}
	for _, s := range cases {
		want, werr := time.Parse(time.RFC3339Nano, s)
		got, err := ParseTimestamp(s)
		if (err == nil) != (werr == nil) {
			t.Fatalf("%s: ParseTimestamp error %v, time.Parse error %v", s, err, werr)
		}
		if err == nil && (!got.Time().Equal(want) || got.Time() != want || got.String() != s) {
			t.Fatalf("%s: got %v (%s), want %v", s, got.Time(), got, want)
		}
	}
}
