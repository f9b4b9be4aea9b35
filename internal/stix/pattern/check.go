package pattern

import (
	"net/netip"
	"slices"
	"strings"
)

// checkRegex checks the structure of a PCRE expression without compiling it: what it
// refuses, PCRE refuses too, but not everything PCRE refuses is caught. It returns the
// byte offset of the problem and a description, or "" when none was found.
func checkRegex(re string) (int, string) {
	if hasExtendedFlag(re) {
		// With (?x), '#' starts a comment that may hold any character; only the
		// trailing backslash check stays sound.
		if trailingBackslash(re) {
			return len(re) - 1, "a lone backslash at the end"
		}
		return 0, ""
	}
	var groups []int // offsets of open '('
	repeatable := false
	for i := 0; i < len(re); {
		switch c := re[i]; c {
		case '\\':
			if i+1 >= len(re) {
				return i, "a lone backslash at the end"
			}
			if re[i+1] == 'Q' { // literal text up to \E or the end
				j := strings.Index(re[i+2:], `\E`)
				if j < 0 {
					return 0, ""
				}
				repeatable = j > 0
				i += 2 + j + 2
				continue
			}
			i += 2
			repeatable = true
		case '[':
			end, ok := classEnd(re, i)
			if !ok {
				return i, "a character class '[' that is never closed with ']'"
			}
			i = end
			repeatable = true
		case '(':
			switch {
			case strings.HasPrefix(re[i:], "(?#"): // comment
				j := strings.IndexByte(re[i:], ')')
				if j < 0 {
					return i, "a comment (?# that is never closed with ')'"
				}
				i += j + 1
				continue
			case strings.HasPrefix(re[i:], "(*"): // verb such as (*UTF) or (*SKIP)
				j := strings.IndexByte(re[i:], ')')
				if j < 0 {
					return i, "a verb (* that is never closed with ')'"
				}
				i += j + 1
				repeatable = false
				continue
			}
			groups = append(groups, i)
			i++
			if i < len(re) && re[i] == '?' {
				i++
			}
			repeatable = false
		case ')':
			if len(groups) == 0 {
				return i, "a ')' without a matching '('"
			}
			groups = groups[:len(groups)-1]
			i++
			repeatable = true
		case '|':
			i++
			repeatable = false
		case '*', '+', '?':
			if !repeatable {
				return i, "a quantifier " + string(c) + " that follows nothing it could repeat"
			}
			i++
			if i < len(re) && (re[i] == '+' || re[i] == '?') { // possessive or lazy
				i++
			}
			repeatable = false
		case '{':
			lo, hi, end, ok := braces(re, i)
			if !ok { // not a quantifier: a literal '{'
				i++
				repeatable = true
				continue
			}
			if hi >= 0 && hi < lo {
				return i, "a quantifier {n,m} with n greater than m"
			}
			i = end
			if i < len(re) && (re[i] == '+' || re[i] == '?') {
				i++
			}
			repeatable = true // PCRE's rules after {n} differ by version; stay permissive
		default:
			i++
			repeatable = true
		}
	}
	if len(groups) > 0 {
		return groups[len(groups)-1], "a group '(' that is never closed with ')'"
	}
	return 0, ""
}

// classEnd returns the offset just past the ']' that closes the class at re[i] == '['.
func classEnd(re string, i int) (int, bool) {
	j := i + 1
	if j < len(re) && re[j] == '^' {
		j++
	}
	if j < len(re) && re[j] == ']' { // a leading ']' is literal
		j++
	}
	for j < len(re) {
		switch re[j] {
		case '\\':
			if strings.HasPrefix(re[j:], `\Q`) {
				k := strings.Index(re[j+2:], `\E`)
				if k < 0 {
					return 0, false
				}
				j += 2 + k + 2
				continue
			}
			j += 2
		case '[':
			if j+1 < len(re) && (re[j+1] == ':' || re[j+1] == '.' || re[j+1] == '=') {
				if k := strings.Index(re[j+2:], string(re[j+1])+"]"); k >= 0 {
					j += 2 + k + 2
					continue
				}
			}
			j++
		case ']':
			return j + 1, true
		default:
			j++
		}
	}
	return 0, false
}

// braces parses a quantifier {n}, {n,} or {n,m} at re[i] == '{'. hi is -1 when open.
func braces(re string, i int) (lo, hi, end int, ok bool) {
	j := i + 1
	num := func() (int, bool) {
		start, v := j, 0
		for j < len(re) && isDigit(re[j]) {
			if j-start >= 9 {
				return 0, false
			}
			v = v*10 + int(re[j]-'0')
			j++
		}
		return v, j > start
	}
	lo, ok = num()
	if !ok {
		return 0, 0, 0, false
	}
	hi = lo
	if j < len(re) && re[j] == ',' {
		j++
		if hi, ok = num(); !ok {
			hi = -1
		}
	}
	if j >= len(re) || re[j] != '}' {
		return 0, 0, 0, false
	}
	return lo, hi, j + 1, true
}

// hasExtendedFlag reports whether an inline option group such as (?x) or (?ix:
// turns on extended mode somewhere.
func hasExtendedFlag(re string) bool {
	for i := 0; ; {
		k := strings.Index(re[i:], "(?")
		if k < 0 {
			return false
		}
		j := i + k + 2
		for j < len(re) && (isIdentStart(re[j]) || re[j] == '-' || re[j] == '^') {
			if re[j] == 'x' {
				return true
			}
			j++
		}
		i = j
	}
}

func trailingBackslash(re string) bool {
	n := 0
	for i := len(re) - 1; i >= 0 && re[i] == '\\'; i-- {
		n++
	}
	return n%2 == 1
}

// isIPOrCIDR reports whether s is an IPv4 or IPv6 address or CIDR block, the value
// ISSUBSET and ISSUPERSET compare with (§9.6.1).
func isIPOrCIDR(s string) bool {
	if strings.IndexByte(s, '/') >= 0 {
		_, err := netip.ParsePrefix(s)
		return err == nil
	}
	a, err := netip.ParseAddr(s)
	return err == nil && a.Zone() == ""
}

// sortedSet sorts s and removes repeats.
func sortedSet(s []string) []string {
	slices.Sort(s)
	return slices.Compact(s)
}

// intersect returns the strings in both sorted sets.
func intersect(a, b []string) []string {
	var out []string
	for i, j := 0, 0; i < len(a) && j < len(b); {
		switch {
		case a[i] < b[j]:
			i++
		case a[i] > b[j]:
			j++
		default:
			out = append(out, a[i])
			i++
			j++
		}
	}
	return out
}

// describeTypes names a set of object types for a message.
func describeTypes(types []string) string {
	var b strings.Builder
	for i, t := range types {
		if i == 3 {
			b.WriteString(" or …")
			break
		}
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(quoteShort(t))
	}
	return b.String()
}
