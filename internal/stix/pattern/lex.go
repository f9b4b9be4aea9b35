package pattern

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// skipSpace skips whitespace: any code point with the Unicode White_Space property
// (§9.1, §9.4).
func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			p.pos++
		case c < utf8.RuneSelf:
			return
		default:
			r, size := utf8.DecodeRuneInString(p.src[p.pos:])
			if !unicode.Is(unicode.White_Space, r) {
				return
			}
			p.pos += size
		}
	}
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) }

var keywords = [...]string{
	"AND", "OR", "NOT", "FOLLOWEDBY", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET", "EXISTS",
	"IN", "START", "STOP", "SECONDS", "WITHIN", "REPEATS", "TIMES",
}

// found describes what is at pos, for "expected ..., found ..." messages.
func (p *parser) found(pos int) string {
	if pos >= len(p.src) {
		return "the end of the pattern"
	}
	c := p.src[pos]
	switch {
	case c == '\'':
		return "a string constant"
	case isIdentChar(c) || c == '-':
		j := pos
		for j < len(p.src) && (isIdentChar(p.src[j]) || p.src[j] == '-') {
			j++
		}
		w := p.src[pos:j]
		msg := quoteShort(w)
		if up := strings.ToUpper(w); up != w {
			for _, kw := range keywords {
				if up == kw {
					msg += " (keywords are written in upper case)"
					break
				}
			}
		}
		return msg
	}
	r, _ := utf8.DecodeRuneInString(p.src[pos:])
	if unicode.Is(unicode.White_Space, r) {
		return "whitespace"
	}
	return strconv.Quote(string(r))
}

// quoteShort quotes s for a message, cut to 40 characters.
func quoteShort(s string) string {
	if utf8.RuneCountInString(s) > 40 {
		r := []rune(s)
		s = string(r[:40]) + "…"
	}
	return strconv.Quote(s)
}

// stringLit parses a string constant: apostrophes around it, and a backslash escapes
// only an apostrophe or a backslash (§9.2).
func (p *parser) stringLit() (string, error) {
	start := p.pos
	rest := p.src[start+1:]
	end := strings.IndexByte(rest, '\'')
	if end >= 0 && strings.IndexByte(rest[:end], '\\') < 0 {
		p.pos = start + 1 + end + 1
		return rest[:end], nil
	}
	var b strings.Builder
	i := start + 1
	for i < len(p.src) {
		switch p.src[i] {
		case '\'':
			p.pos = i + 1
			return b.String(), nil
		case '\\':
			if i+1 >= len(p.src) {
				return "", p.errorf(start, "string constant is never closed with '")
			}
			if n := p.src[i+1]; n != '\'' && n != '\\' {
				r, _ := utf8.DecodeRuneInString(p.src[i+1:])
				return "", p.errorf(i, `invalid escape \%c in a string constant: only \' and \\ may follow a backslash (§9.2)`, r)
			}
			b.WriteByte(p.src[i+1])
			i += 2
		default:
			j := strings.IndexAny(p.src[i:], `'\`)
			if j < 0 {
				return "", p.errorf(start, "string constant is never closed with '")
			}
			b.WriteString(p.src[i : i+j])
			i += j
		}
	}
	return "", p.errorf(start, "string constant is never closed with '")
}

// prefixed parses a binary b'...', hex h'...' or timestamp t'...' constant (§9.2).
func (p *parser) prefixed() (Constant, error) {
	at := p.pos
	prefix := p.src[at]
	body := at + 2
	end := strings.IndexByte(p.src[body:], '\'')
	if end < 0 {
		return Constant{}, p.errorf(at, "constant %c'… is never closed with '", prefix)
	}
	text := p.src[body : body+end]
	p.pos = body + end + 1
	switch prefix {
	case 'h':
		for i := 0; i < len(text); i++ {
			c := text[i]
			if 'A' <= c && c <= 'F' {
				return Constant{}, p.errorf(body+i, "hex constant has upper-case digit %q; hex digits are 0-9 and a-f (§2.8, §9.2)", c)
			}
			if !isDigit(c) && (c < 'a' || c > 'f') {
				r, _ := utf8.DecodeRuneInString(text[i:])
				return Constant{}, p.errorf(body+i, "hex constant has %q, which is not a hex digit (§9.2)", r)
			}
		}
		if len(text)%2 != 0 {
			return Constant{}, p.errorf(at, "hex constant has an odd number of digits, %d; it must encode whole octets (§9.2)", len(text))
		}
		return Constant{Kind: Hex, At: at, Str: text}, nil
	case 'b':
		// The decoder ignores line feeds and carriage returns, as §9.2 requires.
		raw, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			return Constant{}, p.errorf(at, "binary constant is not valid base64 (§9.2, RFC 4648): %v", err)
		}
		return Constant{Kind: Binary, At: at, Str: base64.StdEncoding.EncodeToString(raw)}, nil
	default: // 't'
		t, msg := parseTimestamp(text)
		if msg != "" {
			return Constant{}, p.errorf(at, "invalid timestamp t'%s': %s (§2.16)", text, msg)
		}
		return Constant{Kind: Timestamp, At: at, Str: text, Time: t}, nil
	}
}

// number parses an integer or a float constant (§9.2): an optional '-', digits, and
// for a float a decimal point followed by digits. No '+', no exponent.
func (p *parser) number() (Constant, error) {
	start := p.pos
	i := start
	if p.src[i] == '+' {
		return Constant{}, p.errorf(start, "a positive number is written without '+' (§9.2)")
	}
	neg := p.src[i] == '-'
	if neg {
		i++
	}
	ds := i
	for i < len(p.src) && isDigit(p.src[i]) {
		i++
	}
	digits := p.src[ds:i]
	isFloat := false
	if i < len(p.src) && p.src[i] == '.' {
		isFloat = true
		i++
		fs := i
		for i < len(p.src) && isDigit(p.src[i]) {
			i++
		}
		if i == fs {
			return Constant{}, p.errorf(start, "malformed number %s: a decimal point must be followed by digits", quoteShort(p.src[start:i]))
		}
	} else if digits == "" {
		return Constant{}, p.errorf(start, "expected a number, found %s", p.found(start))
	}
	if i < len(p.src) && (isIdentChar(p.src[i]) || p.src[i] == '.') {
		j := i
		for j < len(p.src) && (isIdentChar(p.src[j]) || p.src[j] == '.' || p.src[j] == '-' || p.src[j] == '+') {
			j++
		}
		return Constant{}, p.errorf(start, "malformed number %s (§9.2: digits with an optional '-' and decimal point)", quoteShort(p.src[start:j]))
	}
	text := p.src[start:i]
	p.pos = i
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return Constant{}, p.errorf(start, "float %s is out of range (§2.6)", quoteShort(text))
		}
		return Constant{Kind: Float, At: start, Float: f}, nil
	}
	if len(digits) > 1 && digits[0] == '0' {
		return Constant{}, p.errorf(start, "integer %s has a leading zero", quoteShort(text))
	}
	if len(digits) > 16 {
		return Constant{}, p.errorf(start, "integer %s is out of range: STIX integers lie within ±(2^53-1) (§2.10)", quoteShort(text))
	}
	var n int64
	for i := 0; i < len(digits); i++ {
		n = n*10 + int64(digits[i]-'0')
	}
	if n > maxInt {
		return Constant{}, p.errorf(start, "integer %s is out of range: STIX integers lie within ±(2^53-1) (§2.10)", quoteShort(text))
	}
	if neg {
		n = -n
	}
	return Constant{Kind: Int, At: start, Int: n}, nil
}

var nanoScale = [10]int{1e9, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 1e2, 10, 1}

// parseTimestamp checks s against §2.16 (YYYY-MM-DDTHH:MM:SS[.s+]Z, in UTC) with the
// rules of the stix package: at most nine fractional digits and no leap second. It
// returns a message saying what is wrong, or "".
func parseTimestamp(s string) (time.Time, string) {
	const form = "not of the form YYYY-MM-DDTHH:MM:SS[.s+]Z"
	if len(s) < 20 {
		return time.Time{}, form
	}
	for i, want := range "dddd-dd-ddTdd:dd:dd" {
		c := s[i]
		if want == 'd' {
			if !isDigit(c) {
				return time.Time{}, form
			}
		} else if c != byte(want) {
			return time.Time{}, form
		}
	}
	rest := s[19:]
	nanos := 0
	if rest[0] == '.' {
		n := 1
		for n < len(rest) && isDigit(rest[n]) {
			nanos = nanos*10 + int(rest[n]-'0')
			n++
			if n-1 > 9 {
				return time.Time{}, "more than nine fractional digits"
			}
		}
		if n == 1 {
			return time.Time{}, "a decimal point must be followed by digits"
		}
		nanos *= nanoScale[n-1]
		rest = rest[n:]
	}
	if rest != "Z" {
		return time.Time{}, `must end in "Z" (UTC)`
	}
	num := func(i, n int) int {
		v := 0
		for _, c := range []byte(s[i : i+n]) {
			v = v*10 + int(c-'0')
		}
		return v
	}
	year, month, day := num(0, 4), num(5, 2), num(8, 2)
	hour, minute, sec := num(11, 2), num(14, 2), num(17, 2)
	switch {
	case month < 1 || month > 12:
		return time.Time{}, "month " + s[5:7] + " does not exist"
	case day < 1 || day > daysIn(year, month):
		return time.Time{}, "day " + s[8:10] + " does not exist in " + s[:7]
	case hour > 23:
		return time.Time{}, "hour " + s[11:13] + " is out of range"
	case minute > 59:
		return time.Time{}, "minute " + s[14:16] + " is out of range"
	case sec > 59:
		return time.Time{}, "second " + s[17:19] + " is out of range (leap seconds are not accepted)"
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nanos, time.UTC), ""
}

func daysIn(year, month int) int {
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

// checkTypeName applies the naming rules of §3.1 to an object type: lower-case ASCII
// letters, digits and hyphens, beginning with a letter, 3 to 250 characters. It
// returns what is wrong, or "".
func checkTypeName(t string) string {
	if len(t) < 3 || len(t) > 250 {
		return "must be 3 to 250 characters long"
	}
	if t[0] < 'a' || t[0] > 'z' {
		if 'A' <= t[0] && t[0] <= 'Z' {
			return "must be lower case"
		}
		return "must begin with a letter"
	}
	for i := 1; i < len(t); i++ {
		c := t[i]
		switch {
		case 'a' <= c && c <= 'z', isDigit(c), c == '-':
		case 'A' <= c && c <= 'Z':
			return "must be lower case"
		case c == '_':
			return "separates words with '-', not '_'"
		}
	}
	return ""
}
