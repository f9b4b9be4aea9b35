package stix

import (
	"strings"
	"testing"
)

// Append prints a timestamp as it was written, digit for digit as time.Format
// would with the written precision.
func TestTimestampAppend(t *testing.T) {
	for _, s := range []string{
		"2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z", "1999-12-31T23:59:59.9Z",
		"0001-01-01T00:00:00.000000001Z", "9999-12-31T23:59:59.999999999Z", "2016-05-12T08:17:27.12Z",
		"2020-02-29T12:34:56.000100Z", "2024-06-01T12:00:00.5000000Z",
	} {
		ts, err := ParseTimestamp(s)
		if err != nil {
			t.Fatal(err)
		}
		layout := "2006-01-02T15:04:05"
		if d := ts.Digits(); d > 0 {
			layout += "." + strings.Repeat("0", d)
		}
		want := ts.Time().UTC().Format(layout + "Z")
		if got := string(ts.Append([]byte("x"))); got != "x"+want || want != s || ts.String() != s {
			t.Errorf("%s: Append %q, time.Format %q, String %q", s, got, want, ts.String())
		}
	}
	if got := (Timestamp{}).Append(nil); len(got) != 0 {
		t.Errorf("zero timestamp: %q", got)
	}
}
