package stix

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// SameMeaning reports whether two JSON values have the same canonical form
// (Canonical): the same value written with members in another order, or numbers
// and strings written otherwise. A value that has none (not I-JSON), or that holds
// a number its double does not represent exactly (9007199254740993 reads as
// 9007199254740992), means nothing but its own bytes.
func SameMeaning(a, b []byte) bool {
	if bytes.Equal(a, b) {
		return true
	}
	ca, okA := faithfulCanonical(a)
	cb, okB := faithfulCanonical(b)
	return okA && okB && bytes.Equal(ca, cb)
}

// faithfulCanonical is Canonical of raw, when each of its numbers is the value of
// the double it reads as.
func faithfulCanonical(raw []byte) ([]byte, bool) {
	root, _, err := parseValue(raw, false)
	if err != nil || !faithful(root) {
		return nil, false
	}
	out, err := appendCanonical(nil, root)
	return out, err == nil
}

// faithful reports whether every number under n equals, as a decimal, the
// shortest form of the double it reads as.
func faithful(n *node) bool {
	switch n.kind {
	case kNumber:
		f, err := strconv.ParseFloat(n.str, 64)
		if err != nil {
			return false
		}
		return sameDecimal(n.str, strconv.FormatFloat(f, 'g', -1, 64))
	case kArray, kObject:
		for i := range n.kids {
			if !faithful(&n.kids[i]) {
				return false
			}
		}
	}
	return true
}

// sameDecimal reports whether two JSON numbers are the same decimal value, by
// their digits and exponents (no arithmetic, so a hostile exponent costs nothing).
func sameDecimal(x, y string) bool {
	nx, dx, ex, okx := decimalForm(x)
	ny, dy, ey, oky := decimalForm(y)
	return okx && oky && dx == dy && (dx == "" || nx == ny && ex == ey)
}

// decimalForm returns a JSON number as sign, significant digits without leading or
// trailing zeros ("" for zero), and the power of ten of the last digit.
func decimalForm(s string) (neg bool, digits string, exp int, ok bool) {
	s, neg = strings.CutPrefix(s, "-")
	mant, e, hasExp := strings.Cut(strings.ToLower(s), "e")
	if hasExp {
		v, err := strconv.Atoi(e)
		if err != nil || v > 1<<20 || v < -1<<20 {
			return false, "", 0, false
		}
		exp = v
	}
	whole, frac, _ := strings.Cut(mant, ".")
	digits = strings.TrimLeft(whole+frac, "0")
	exp -= len(frac)
	for strings.HasSuffix(digits, "0") {
		digits, exp = digits[:len(digits)-1], exp+1
	}
	return neg, digits, exp, true
}

// Canonical returns the JSON Canonicalization Scheme (RFC 8785) form of one JSON
// value: no whitespace, object members sorted by the UTF-16 code units of their
// names (§3.2.3), numbers as ECMAScript prints them (§3.2.2.3), strings with only
// the escapes ECMAScript's JSON.stringify uses (§3.2.2.2). The input must be I-JSON
// (RFC 7493): duplicate names, invalid UTF-8 and lone surrogates are errors, and so
// is a number that is not a finite IEEE 754 double.
func Canonical(raw []byte) ([]byte, error) {
	root, _, err := parseValue(raw, false)
	if err != nil {
		return nil, fmt.Errorf("canonical: %w", err)
	}
	out := make([]byte, 0, len(raw))
	out, err = appendCanonical(out, root)
	if err != nil {
		return nil, fmt.Errorf("canonical: %w", err)
	}
	return out, nil
}

func appendCanonical(out []byte, n *node) ([]byte, error) {
	var err error
	switch n.kind {
	case kNull:
		out = append(out, "null"...)
	case kTrue:
		out = append(out, "true"...)
	case kFalse:
		out = append(out, "false"...)
	case kString:
		out = appendCanonicalString(out, n.str)
	case kNumber:
		f, perr := strconv.ParseFloat(n.str, 64)
		if perr != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, fmt.Errorf("number %s is not a finite IEEE 754 double", n.str)
		}
		out = appendES6Number(out, f)
	case kArray:
		out = append(out, '[')
		for i := range n.kids {
			if i > 0 {
				out = append(out, ',')
			}
			if out, err = appendCanonical(out, &n.kids[i]); err != nil {
				return nil, err
			}
		}
		out = append(out, ']')
	case kObject:
		idx := memberOrder(n.kids)
		out = append(out, '{')
		for j := range n.kids {
			i := j
			if idx != nil {
				i = idx[j]
			}
			if j > 0 {
				out = append(out, ',')
			}
			out = appendCanonicalString(out, n.kids[i].key)
			out = append(out, ':')
			if out, err = appendCanonical(out, &n.kids[i]); err != nil {
				return nil, err
			}
		}
		out = append(out, '}')
	}
	return out, nil
}

// memberOrder returns the order of the members of an object in canonical form:
// sorted by the UTF-16 code units of their names (§3.2.3). It is nil when they are
// in that order already, as in every object written canonically. For names of ASCII
// only, UTF-16 order is byte order, and the names need no conversion. (Names are
// distinct: the parser refuses duplicates.)
func memberOrder(kids []node) []int {
	ascii, sorted := true, true
	for i := range kids {
		if !isASCII(kids[i].key) {
			ascii = false
			break
		}
		if i > 0 && kids[i-1].key > kids[i].key {
			sorted = false
		}
	}
	if ascii && sorted {
		return nil
	}
	idx := make([]int, len(kids))
	for i := range idx {
		idx[i] = i
	}
	if ascii {
		slices.SortFunc(idx, func(a, b int) int { return strings.Compare(kids[a].key, kids[b].key) })
		return idx
	}
	keys := make([][]uint16, len(kids))
	for i := range kids {
		keys[i] = utf16.Encode([]rune(kids[i].key))
	}
	slices.SortFunc(idx, func(a, b int) int { return slices.Compare(keys[a], keys[b]) })
	return idx
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// appendCanonicalString writes s as RFC 8785 §3.2.2.2 requires: '"' and '\' and the
// control characters escaped (\b \t \n \f \r by name, the others as \u00xx in
// lowercase hex), everything else as UTF-8.
func appendCanonicalString(out []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			out = append(out, '\\', c)
		case c == '\b':
			out = append(out, '\\', 'b')
		case c == '\t':
			out = append(out, '\\', 't')
		case c == '\n':
			out = append(out, '\\', 'n')
		case c == '\f':
			out = append(out, '\\', 'f')
		case c == '\r':
			out = append(out, '\\', 'r')
		case c < 0x20:
			out = append(out, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
		default:
			out = append(out, c)
		}
	}
	return append(out, '"')
}

// appendES6Number formats f as ECMAScript's Number.prototype.toString does
// (ECMA-262 §7.1.12.1, RFC 8785 §3.2.2.3): the shortest digits that round-trip,
// plain notation for exponents from -6 to 20, else d.ddde±x; -0 prints as 0.
func appendES6Number(out []byte, f float64) []byte {
	if f == 0 {
		return append(out, '0')
	}
	if f < 0 {
		out = append(out, '-')
		f = -f
	}
	// Shortest round-trip digits in scientific form: "d.ddde±xx".
	var buf [32]byte
	sci := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	mant, exp, _ := cutByte(sci, 'e')
	e, _ := strconv.Atoi(string(exp))
	digits := make([]byte, 0, len(mant))
	for _, c := range mant {
		if c != '.' {
			digits = append(digits, c)
		}
	}
	k := len(digits)
	n := e + 1 // value = 0.digits × 10^n
	switch {
	case k <= n && n <= 21:
		out = append(out, digits...)
		for i := 0; i < n-k; i++ {
			out = append(out, '0')
		}
	case 0 < n && n <= 21:
		out = append(out, digits[:n]...)
		out = append(out, '.')
		out = append(out, digits[n:]...)
	case -6 < n && n <= 0:
		out = append(out, '0', '.')
		for i := 0; i < -n; i++ {
			out = append(out, '0')
		}
		out = append(out, digits...)
	default:
		out = append(out, digits[0])
		if k > 1 {
			out = append(out, '.')
			out = append(out, digits[1:]...)
		}
		out = append(out, 'e')
		if n-1 >= 0 {
			out = append(out, '+')
		}
		out = strconv.AppendInt(out, int64(n-1), 10)
	}
	return out
}

func cutByte(b []byte, sep byte) (before, after []byte, found bool) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:], true
		}
	}
	return b, nil, false
}
