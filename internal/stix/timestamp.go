package stix

import (
	"errors"
	"time"
)

// Timestamp is a STIX timestamp (§2.16): RFC 3339 in UTC with an upper-case "Z",
// keeping the sub-second precision it was written with so it prints back unchanged.
type Timestamp struct {
	t      time.Time
	digits int8 // digits after the decimal point as written, 0..9
}

// ErrTimestamp is wrapped by every timestamp parse error.
var ErrTimestamp = errors.New("timestamp")

// NewTimestamp returns t in UTC with the given number of fractional digits (0..9).
func NewTimestamp(t time.Time, digits int) Timestamp {
	digits = max(0, min(9, digits))
	t = t.UTC()
	t = t.Truncate(pow10[9-digits])
	return Timestamp{t: t, digits: int8(digits)}
}

var pow10 = [10]time.Duration{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9}

// ParseTimestamp parses s as "YYYY-MM-DDTHH:MM:SS[.s+]Z" (§2.16.1). More than nine
// fractional digits are refused: nanoseconds are the finest version we can keep apart.
func ParseTimestamp(s string) (Timestamp, error) {
	bad := func(why string) (Timestamp, error) {
		return Timestamp{}, &timestampError{s: s, why: why}
	}
	if len(s) < 20 {
		return bad("too short")
	}
	for i, want := range "dddd-dd-ddTdd:dd:dd" {
		c := s[i]
		if want == 'd' {
			if c < '0' || c > '9' {
				return bad("not of the form YYYY-MM-DDTHH:MM:SSZ")
			}
		} else if c != byte(want) {
			return bad("not of the form YYYY-MM-DDTHH:MM:SSZ")
		}
	}
	digits := 0
	rest := s[19:]
	if rest[0] == '.' {
		rest = rest[1:]
		for digits < len(rest) && rest[digits] >= '0' && rest[digits] <= '9' {
			digits++
		}
		if digits == 0 {
			return bad("a decimal point must be followed by digits")
		}
		if digits > 9 {
			return bad("more than nine fractional digits")
		}
		rest = rest[digits:]
	}
	if rest != "Z" {
		return bad(`must end in "Z" (UTC)`)
	}
	// The form is checked: read the fields digit by digit, with the ranges
	// time.Parse enforces (no second 60, no 24:00), rather than parse again.
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	if month < 1 || month > 12 || day < 1 || day > daysIn(month, year) || hour > 23 || minute > 59 || sec > 59 {
		return bad("not a valid date and time")
	}
	nsec := 0
	if digits > 0 {
		nsec = num(20, digits) * int(pow10[9-digits])
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return Timestamp{t: t, digits: int8(digits)}, nil
}

// daysIn returns the number of days of month (1..12) in year, Gregorian.
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

type timestampError struct{ s, why string }

func (e *timestampError) Error() string { return "invalid timestamp " + quote(e.s) + ": " + e.why }
func (e *timestampError) Unwrap() error { return ErrTimestamp }

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return `"` + noNUL.Replace(s) + `"`
}

// IsZero reports whether the timestamp is absent.
func (ts Timestamp) IsZero() bool { return ts.t.IsZero() }

// Time returns the instant.
func (ts Timestamp) Time() time.Time { return ts.t }

// Digits returns the number of fractional digits it was written with.
func (ts Timestamp) Digits() int { return int(ts.digits) }

// String prints the timestamp as it was written.
func (ts Timestamp) String() string {
	if ts.t.IsZero() {
		return ""
	}
	return string(ts.Append(make([]byte, 0, 30)))
}

// Append appends the timestamp as it was written (String) to b. It formats
// digit by digit: audit records and status resources list thousands of
// versions, and time.Format cost most of their building.
func (ts Timestamp) Append(b []byte) []byte {
	if ts.t.IsZero() {
		return b
	}
	t := ts.t.UTC()
	y, mo, d := t.Date()
	if y < 0 || y > 9999 { // not a STIX timestamp (§3.2); print what time prints
		layout := "2006-01-02T15:04:05"
		if ts.digits > 0 {
			layout += ".000000000"[:ts.digits+1]
		}
		return t.AppendFormat(b, layout+"Z")
	}
	h, mi, sec := t.Clock()
	b = appendDigits(b, y, 4)
	b = append(b, '-')
	b = appendDigits(b, int(mo), 2)
	b = append(b, '-')
	b = appendDigits(b, d, 2)
	b = append(b, 'T')
	b = appendDigits(b, h, 2)
	b = append(b, ':')
	b = appendDigits(b, mi, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	if n := int(ts.digits); n > 0 {
		b = append(b, '.')
		b = appendDigits(b, t.Nanosecond()/int(pow10[9-n]), n)
	}
	return append(b, 'Z')
}

// appendDigits appends v (>= 0) in exactly width decimal digits.
func appendDigits(b []byte, v, width int) []byte {
	for i := width - 1; i >= 0; i-- {
		b = append(b, byte('0'+v/int(pow10[i])%10))
	}
	return b
}

// Key is a fixed-width form that sorts as the instants do; two timestamps that differ
// only in written precision ("…00.1Z", "…00.100Z") have the same Key, because they are
// the same version (§3.6).
func (ts Timestamp) Key() string {
	if ts.t.IsZero() {
		return ""
	}
	return ts.t.Format("2006-01-02T15:04:05.000000000Z")
}

// ParseKey is the inverse of Key.
func ParseKey(key string) (Timestamp, error) {
	if key == "" {
		return Timestamp{}, nil
	}
	ts, err := ParseTimestamp(key)
	if err != nil {
		return Timestamp{}, err
	}
	return ts, nil
}

// Compare orders two timestamps by instant.
func (ts Timestamp) Compare(o Timestamp) int { return ts.t.Compare(o.t) }
