package postgres

import (
	"testing"
	"time"
)

func TestNanos(t *testing.T) {
	now := time.Now().UTC()
	tests := []struct {
		name string
		in   time.Time
		want time.Time // what comes back
	}{
		{"zero", time.Time{}, time.Time{}},
		{"now", now, now},
		{"epoch", time.Unix(0, 0).UTC(), time.Unix(0, 0).UTC()},
		{"year 9999 is clamped", time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), maxNanos.UTC()},
		{"year 1 is clamped", time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), minNanos.UTC()},
		{"other zone", now.In(time.FixedZone("JST", 9*3600)), now},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := fromNanos(nanos(tc.in))
			if !got.Equal(tc.want) || got.Location() != time.UTC {
				t.Fatalf("round trip of %v: %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
