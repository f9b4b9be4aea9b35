package pattern

import (
	"bufio"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"quadshare/internal/realdata"
)

func TestSpecExamples(t *testing.T) {
	f, err := os.Open(realdata.Path(t, "stix/patterns/spec_examples.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		n++
		p, err := Parse(line)
		if err != nil {
			t.Errorf("line %d: %v", n, err)
			continue
		}
		if len(p.ObjectTypes()) == 0 {
			t.Errorf("line %d: no object types in %q", n, line)
		}
		assertRoundTrip(t, p)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no patterns read")
	}
}

// assertRoundTrip checks that p's canonical form parses back to the same form.
func assertRoundTrip(t *testing.T, p *Pattern) {
	t.Helper()
	s := p.String()
	q, err := Parse(s)
	if err != nil {
		t.Errorf("canonical form %q does not parse: %v", s, err)
		return
	}
	if got := q.String(); got != s {
		t.Errorf("round trip changed the pattern:\n first %q\nsecond %q", s, got)
	}
}

// Valid patterns we wrote, with the canonical form each must render to.
var validCases = []struct {
	in, want string
}{
	{"[file:size = 25536]", "[file:size = 25536]"},
	{"  [ file:size   =\t25536 ]\n", "[file:size = 25536]"},
	{"[file:size = -12]", "[file:size = -12]"},
	{"[file:size = -0]", "[file:size = 0]"},
	{"[file:size = 9007199254740991]", "[file:size = 9007199254740991]"},
	{"[file:size = -9007199254740991]", "[file:size = -9007199254740991]"},
	{"[file:x_entropy = .5]", "[file:x_entropy = 0.5]"},
	{"[file:x_entropy = -.5]", "[file:x_entropy = -0.5]"},
	{"[file:x_entropy = 7.000]", "[file:x_entropy = 7.0]"},
	{"[file:x_entropy = 00.25]", "[file:x_entropy = 0.25]"},
	{"[x-thing:flag = true OR x-thing:flag = false]", "[x-thing:flag = true OR x-thing:flag = false]"},
	{`[file:name = 'it\'s \\ here']`, `[file:name = 'it\'s \\ here']`},
	{"[file:name = '']", "[file:name = '']"},
	{"[file:name = 'ünïcødé ☃']", "[file:name = 'ünïcødé ☃']"},
	{"[file:name = 'two\nlines']", "[file:name = 'two\nlines']"},
	{"[artifact:payload_bin = b'ABI=']", "[artifact:payload_bin = b'ABI=']"},
	{"[artifact:payload_bin = b'dGhp\ncyBp\r\ncyBh']", "[artifact:payload_bin = b'dGhpcyBpcyBh']"},
	{"[artifact:payload_bin = b'']", "[artifact:payload_bin = b'']"},
	{"[file:magic_number_hex = h'']", "[file:magic_number_hex = h'']"},
	{"[file:magic_number_hex = h'00ff']", "[file:magic_number_hex = h'00ff']"},
	{"[file:created = t'2016-02-29T23:59:59.123456789Z']", "[file:created = t'2016-02-29T23:59:59.123456789Z']"},
	{"[file:created > t'2000-01-01T00:00:00Z']", "[file:created > t'2000-01-01T00:00:00Z']"},
	{"[file:size != 1]", "[file:size != 1]"},
	{"[file:size<1]", "[file:size < 1]"},
	{"[file:size<=1]", "[file:size <= 1]"},
	{"[file:size>1]", "[file:size > 1]"},
	{"[file:size>=1]", "[file:size >= 1]"},
	{"[file:size NOT = 1]", "[file:size NOT = 1]"},
	{"[file:size NOT >= 1]", "[file:size NOT >= 1]"},
	{"[process:name IN ('proccy', 'proximus', 'badproc')]", "[process:name IN ('proccy', 'proximus', 'badproc')]"},
	{"[file:size IN (1,2.5 , 3)]", "[file:size IN (1, 2.5, 3)]"},
	{"[file:size NOT IN (1)]", "[file:size NOT IN (1)]"},
	{`[directory:path LIKE 'C:\\Windows\\%\\foo']`, `[directory:path LIKE 'C:\\Windows\\%\\foo']`},
	{"[file:name NOT LIKE 'a_b%']", "[file:name NOT LIKE 'a_b%']"},
	{`[directory:path MATCHES '^C:\\\\Windows\\w+$']`, `[directory:path MATCHES '^C:\\\\Windows\\w+$']`},
	{`[file:name MATCHES '(?<=a)b(?!c)\\1*+[]x]{2,3}?']`, `[file:name MATCHES '(?<=a)b(?!c)\\1*+[]x]{2,3}?']`},
	{"[file:name MATCHES '(?x) a # ( unbalanced in a comment']", "[file:name MATCHES '(?x) a # ( unbalanced in a comment']"},
	{"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", "[ipv4-addr:value ISSUBSET '198.51.100.0/24']"},
	{"[ipv6-addr:value ISSUPERSET '2001:db8::1']", "[ipv6-addr:value ISSUPERSET '2001:db8::1']"},
	{"[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']", "[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']"},
	{"[EXISTS windows-registry-key:values]", "[EXISTS windows-registry-key:values]"},
	{"[NOT EXISTS file:hashes.MD5]", "[NOT EXISTS file:hashes.MD5]"},
	{"[file:hashes.'MD5' = 'x']", "[file:hashes.MD5 = 'x']"},
	{"[x-custom:'odd-name'.'a.b'[0][*].c = 1]", "[x-custom:'odd-name'.'a.b'[0][*].c = 1]"},
	{"[network-traffic:protocols[0] = 'tcp']", "[network-traffic:protocols[0] = 'tcp']"},
	{"[file:AND = 1]", "[file:AND = 1]"},
	{"[a-b:c = 1]", "[a-b:c = 1]"},
	// AND binds tighter than OR inside brackets (§9.6); parentheses kept only where needed.
	{"[file:a = 1 OR file:b = 2 AND file:c = 3]", "[file:a = 1 OR file:b = 2 AND file:c = 3]"},
	{"[(file:a = 1 OR file:b = 2) AND file:c = 3]", "[(file:a = 1 OR file:b = 2) AND file:c = 3]"},
	{"[(file:a = 1 AND file:b = 2) OR file:c = 3]", "[file:a = 1 AND file:b = 2 OR file:c = 3]"},
	{"[file:a = 1 AND (file:b = 2 AND file:c = 3)]", "[file:a = 1 AND (file:b = 2 AND file:c = 3)]"},
	{"[((file:a = 1))]", "[file:a = 1]"},
	// Different object types are fine under OR, and under AND when one side can be satisfied by the other's type.
	{"[file:a = 1 OR process:b = 2]", "[file:a = 1 OR process:b = 2]"},
	{"[(type-a:j = 'W' AND type-a:k = 'X') OR (type-b:m = 'Y' AND type-b:n = 'Z')]", "[type-a:j = 'W' AND type-a:k = 'X' OR type-b:m = 'Y' AND type-b:n = 'Z']"},
	{"[(file:a = 1 OR process:b = 2) AND file:c = 3]", "[(file:a = 1 OR process:b = 2) AND file:c = 3]"},
	// Observation operators: AND over OR over FOLLOWEDBY (§9.5.3).
	{"[a-a:x = 1] OR [b-b:x = 1] AND [c-c:x = 1]", "[a-a:x = 1] OR [b-b:x = 1] AND [c-c:x = 1]"},
	{"([a-a:x = 1] OR [b-b:x = 1]) AND [c-c:x = 1]", "([a-a:x = 1] OR [b-b:x = 1]) AND [c-c:x = 1]"},
	{"[a-a:x = 1] FOLLOWEDBY [b-b:x = 1] OR [c-c:x = 1]", "[a-a:x = 1] FOLLOWEDBY [b-b:x = 1] OR [c-c:x = 1]"},
	{"([a-a:x = 1] FOLLOWEDBY [b-b:x = 1]) FOLLOWEDBY [c-c:x = 1]", "([a-a:x = 1] FOLLOWEDBY [b-b:x = 1]) FOLLOWEDBY [c-c:x = 1]"},
	{"[a-a:x = 1]AND[b-b:x = 1]", "[a-a:x = 1] AND [b-b:x = 1]"},
	// Qualifiers bind to what is right before them (§9.5.2).
	{"[a-a:x = 1] FOLLOWEDBY [b-b:x = 1] REPEATS 5 TIMES", "[a-a:x = 1] FOLLOWEDBY [b-b:x = 1] REPEATS 5 TIMES"},
	{"([a-a:x = 1] FOLLOWEDBY [b-b:x = 1]) REPEATS 5 TIMES", "([a-a:x = 1] FOLLOWEDBY [b-b:x = 1]) REPEATS 5 TIMES"},
	{"([a-a:x = 1]) WITHIN 5 SECONDS", "[a-a:x = 1] WITHIN 5 SECONDS"},
	{"[a-a:x = 1] WITHIN 2.5 SECONDS", "[a-a:x = 1] WITHIN 2.5 SECONDS"},
	{"[a-a:x = 1] WITHIN 300.0 SECONDS", "[a-a:x = 1] WITHIN 300 SECONDS"},
	{"[a-a:x = 1] REPEATS 2 TIMES WITHIN 10 SECONDS START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
		"[a-a:x = 1] REPEATS 2 TIMES WITHIN 10 SECONDS START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'"},
	{"([a-a:x = 1] REPEATS 2 TIMES) REPEATS 3 TIMES", "([a-a:x = 1] REPEATS 2 TIMES) REPEATS 3 TIMES"},
	{"[file:name = 'foo.dll'] START t'2016-06-01T00:00:00Z' STOP t'2016-06-01T00:00:00.000000001Z'",
		"[file:name = 'foo.dll'] START t'2016-06-01T00:00:00Z' STOP t'2016-06-01T00:00:00.000000001Z'"},
	// Unicode whitespace (§9.4): no-break space, ideographic space, line separator.
	{"[file:size\u00a0=\u30001]\u2028AND [file:size = 2]", "[file:size = 1] AND [file:size = 2]"},
}

func TestValid(t *testing.T) {
	for _, tc := range validCases {
		p, err := Parse(tc.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.in, err)
			continue
		}
		if got := p.String(); got != tc.want {
			t.Errorf("Parse(%q).String()\n got %q\nwant %q", tc.in, got, tc.want)
		}
		assertRoundTrip(t, p)
	}
}

// Invalid patterns: the error must hold msg, at the offset of the first occurrence of
// at in the pattern (or its end when at is empty).
var invalidCases = []struct {
	in, at, msg string
}{
	{"", "", "expected '[' or '(' to start an observation expression, found the end of the pattern"},
	{"   ", "", "found the end of the pattern"},
	{"file:name = 'x'", "file", `expected '[' or '(' to start an observation expression, found "file"`},
	{"[file:name = 'x'", "", "expected ']' to close the observation expression, found the end of the pattern"},
	{"[file:name = 'x' and file:size = 1]", "and", `found "and" (keywords are written in upper case)`},
	{"[file:name = 'x' AND]", "]", `expected a comparison: an object path such as file:name, EXISTS or '(', found "]"`},
	{"[]", "]", "expected a comparison"},
	{"[file:name = 'x'] AND", "", "expected '[' or '(' to start an observation expression"},
	{"[file:name = 'x'] [file:name = 'y']", "[file:name = 'y'", `expected AND, OR, FOLLOWEDBY, a qualifier or the end of the pattern, found "["`},
	{"[file:name = 'x'])", ")", `found ")"`},
	{"([file:name = 'x']", "", "expected ')' to close the '(' at column 1, found the end of the pattern"},
	{"[file:name 'x']", "'x'", "expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET), found a string constant"},
	{"[file:name == 'x']", "==", `"==" is not a STIX operator; write "="`},
	{"[file:name <> 'x']", "<>", `"<>" is not a STIX operator; write "!="`},
	{"[file:name = x]", "x]", `expected a constant after =, found "x"`},
	{"[file:name = TRUE]", "TRUE", `expected a constant after =, found "TRUE"`},
	{"[file:name = 'x]", "'x]", "string constant is never closed with '"},
	{`[file:name = 'a\nb']`, `\n`, `invalid escape \n in a string constant: only \' and \\ may follow a backslash`},
	{"[file:size = 007]", "007", `integer "007" has a leading zero`},
	{"[file:size = +5]", "+5", "a positive number is written without '+'"},
	{"[file:size = 9007199254740992]", "9007", "out of range: STIX integers lie within ±(2^53-1)"},
	{"[file:size = 1e5]", "1e5", `malformed number "1e5"`},
	{"[file:size = 1.]", "1.", "a decimal point must be followed by digits"},
	{"[file:size = 1.2.3]", "1.2.3", `malformed number "1.2.3"`},
	{"[file:magic_number_hex = h'fff']", "h'fff'", "hex constant has an odd number of digits"},
	{"[file:magic_number_hex = h'FFD8']", "FFD8", "hex constant has upper-case digit 'F'"},
	{"[file:magic_number_hex = h'zz']", "zz", "is not a hex digit"},
	{"[artifact:payload_bin = b'ABI']", "b'ABI'", "binary constant is not valid base64"},
	{"[artifact:payload_bin = b'AB*=']", "b'AB", "binary constant is not valid base64"},
	{"[file:created = t'2014-13-13T07:03:17Z']", "t'", "month 13 does not exist"},
	{"[file:created = t'2014-02-29T07:03:17Z']", "t'", "day 29 does not exist in 2014-02"},
	{"[file:created = t'2014-01-13 07:03:17Z']", "t'", "not of the form YYYY-MM-DDTHH:MM:SS[.s+]Z"},
	{"[file:created = t'2014-01-13T07:03:17+00:00']", "t'", `must end in "Z" (UTC)`},
	{"[file:created = t'2014-01-13T23:59:60Z']", "t'", "leap seconds are not accepted"},
	{"[file:created = t'2014-01-13T07:03:17.1234567890Z']", "t'", "more than nine fractional digits"},
	{"[file:name = 'x'] WITHIN 0 SECONDS", "0 SEC", "WITHIN needs a positive number of seconds, not 0"},
	{"[file:name = 'x'] WITHIN -5 SECONDS", "-5", "WITHIN needs a positive number of seconds, not -5"},
	{"[file:name = 'x'] WITHIN 5", "", "expected SECONDS after WITHIN 5, found the end of the pattern"},
	{"[file:name = 'x'] WITHIN 5 MINUTES", "MINUTES", `expected SECONDS after WITHIN 5, found "MINUTES"`},
	{"[file:name = 'x'] WITHIN SECONDS", "SECONDS", "WITHIN needs a positive number of seconds"},
	{"[file:name = 'x'] REPEATS 2.5 TIMES", "2.5", "REPEATS needs a positive integer count, not 2.5"},
	{"[file:name = 'x'] REPEATS 0 TIMES", "0", "REPEATS needs a positive integer count, not 0"},
	{"[file:name = 'x'] REPEATS 2 TIMES REPEATS 3 TIMES", "REPEATS 3", "a second REPEATS qualifier on the same observation expression"},
	{"[file:name = 'x'] WITHIN 1 SECONDS REPEATS 2 TIMES WITHIN 3 SECONDS", "WITHIN 3", "a second WITHIN qualifier"},
	{"[file:name = 'x'] START t'2016-07-01T00:00:00Z' STOP t'2016-06-01T00:00:00Z'", "START", "START t'2016-07-01T00:00:00Z' is not before STOP t'2016-06-01T00:00:00Z'"},
	{"[file:name = 'x'] START t'2016-07-01T00:00:00Z' STOP t'2016-07-01T00:00:00.000Z'", "START", "is not before STOP"},
	{"[file:name = 'x'] START '2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'", "'2016", "START needs a timestamp constant such as t'2016-06-01T00:00:00Z', found a string constant"},
	{"[file:name = 'x'] START t'2016-06-01T00:00:00Z'", "", "expected STOP after START t'2016-06-01T00:00:00Z'"},
	{"[file:name = 'x'] within 5 seconds", "within", `found "within" (keywords are written in upper case)`},
	{"[file:name = 'x' AND ipv4-addr:value = '198.51.100.1']", "ipv4-addr", `comparisons joined by AND must be satisfiable by one object, but "file" and "ipv4-addr" are different object types`},
	{"[(file:a = 1 OR process:b = 2) AND user-account:c = 3]", "user-account", `but "file" or "process" and "user-account" are different object types`},
	{"[(file:a = 1 OR file:b = 2) AND (process:c = 3 OR process:d = 4)]", "process:c", `but "file" and "process" are different object types`},
	{"[file:name IN 'x']", "'x'", "IN needs a set of constants in parentheses"},
	{"[file:name IN ()]", "()", "IN needs at least one constant in its set"},
	{"[file:name IN ('a', 1)]", "1)", "the IN set mixes string and integer constants"},
	{"[file:name IN ('a' 'b')]", "'b'", "expected ',' or ')' in the IN set, found a string constant"},
	{"[file:name LIKE 5]", "5", "LIKE needs a string constant, found an integer constant"},
	{"[file:size < true]", "true", "< cannot order booleans; use = or !="},
	{"[file:name MATCHES 'a(b']", "'a(b'", "MATCHES needs a PCRE regular expression: a group '(' that is never closed with ')' at offset 1"},
	{"[file:name MATCHES '*a']", "'*a'", "a quantifier * that follows nothing it could repeat at offset 0"},
	{"[file:name MATCHES 'a[b']", "'a[b'", "a character class '[' that is never closed with ']' at offset 1"},
	{`[file:name MATCHES 'ab\\']`, `'ab`, "a lone backslash at the end at offset 2"},
	{"[file:name MATCHES 'a{3,2}']", "'a{3,2}'", "a quantifier {n,m} with n greater than m"},
	{"[file:name MATCHES 'a)']", "'a)'", "a ')' without a matching '('"},
	{"[ipv4-addr:value ISSUBSET '300.1.1.1/24']", "'300", `ISSUBSET needs an IPv4 or IPv6 address or CIDR block, not "300.1.1.1/24"`},
	{"[ipv6-addr:value ISSUPERSET 'fe80::1%eth0']", "'fe80", "ISSUPERSET needs an IPv4 or IPv6 address or CIDR block"},
	{"[ipv4-addr:value ISSUBSET 5]", "5", "ISSUBSET needs a string constant, found an integer constant"},
	{"[File:name = 'x']", "File", `object type "File" must be lower case`},
	{"[x_thing:name = 'x']", "x_thing", `object type "x_thing" separates words with '-', not '_'`},
	{"[ab:name = 'x']", "ab:", `object type "ab" must be 3 to 250 characters long`},
	{"[1file:name = 'x']", "1file", `object type "1file" must begin with a letter`},
	{"[file :name = 'x']", " :", `expected ':' after the object type "file", found whitespace`},
	{"[file:hashes.SHA-256 = 'x']", "SHA-256", `property name "SHA-256" holds '-': quote it, as in 'SHA-256'`},
	{"[file:name[-1] = 'x']", "-1", "a list index cannot be negative"},
	{"[file:name[x] = 'x']", "x]", `expected a list index, a number or '*', found "x"`},
	{"[file:name[1 = 'x']", " = 'x'", "expected ']' to close the list index, found whitespace"},
	{"[file:'' = 'x']", "''", "a property name cannot be empty"},
	{"[file:.name = 'x']", ".name", `expected a property name, found "."`},
	{"[file: = 'x']", " = 'x'", "expected a property name, found whitespace"},
	{"[EXISTS]", "]", "expected a comparison: an object path"},
	{"[NOT file:name = 'x']", "NOT", "NOT goes between the object path and the operator"},
	{"[file:name NOT NOT = 'x']", "NOT = ", "expected a comparison operator"},
	{"[file:name EXISTS]", "EXISTS", "EXISTS goes before the object path"},
	{"[file:name = 'x' AND (file:size = 1]", "]", "expected ')' to close the '(' at column 22, found \"]\""},
	{"[file:name = 'x']\n  FOLLOWEDBY\n  [file:name = 'y'] WITHIN 0 SECONDS", "0 SEC", "WITHIN needs a positive number"},
	{"[file:name = '\xff']", "\xff", "pattern is not valid UTF-8"},
	{strings.Repeat("(", MaxDepth+1) + "[file:name = 'x']" + strings.Repeat(")", MaxDepth+1), strings.Repeat("(", 1) + "[", "parentheses nested more than 100 deep"},
	{"[" + strings.Repeat("(", MaxDepth+1) + "file:name = 'x'" + strings.Repeat(")", MaxDepth+1) + "]", "(file", "parentheses nested more than 100 deep"},
}

func TestInvalid(t *testing.T) {
	if len(invalidCases) < 30 {
		t.Fatalf("only %d invalid cases", len(invalidCases))
	}
	for _, tc := range invalidCases {
		p, err := Parse(tc.in)
		if err == nil {
			t.Errorf("Parse(%q) = %q, want an error holding %q", tc.in, p, tc.msg)
			continue
		}
		var perr *Error
		if !errors.As(err, &perr) {
			t.Errorf("Parse(%q): error %T is not *Error", tc.in, err)
			continue
		}
		if !strings.Contains(perr.Msg, tc.msg) {
			t.Errorf("Parse(%q): message\n %q\ndoes not hold\n %q", tc.in, perr.Msg, tc.msg)
		}
		want := len(tc.in)
		if tc.at != "" {
			want = strings.Index(tc.in, tc.at)
			if want < 0 {
				t.Fatalf("bad test case: %q not in %q", tc.at, tc.in)
			}
		}
		if perr.Pos != want {
			t.Errorf("Parse(%q): error at offset %d, want %d (%v)", tc.in, perr.Pos, want, err)
		}
	}
}

func TestErrorText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"[file:name = 'x' file:size = 1]", `pattern: at column 18: expected ']' to close the observation expression, found "file"`},
		{"[file:name = 'é' file:size = 1]", `pattern: at column 18: expected ']'`},
		{"[file:name = 'x']\nAND [file:size = 1\n]]", `pattern: at line 3, column 2: expected AND, OR, FOLLOWEDBY, a qualifier or the end of the pattern, found "]"`},
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Parse(%q) error\n %v\nwant it to start with\n %s", tc.in, err, tc.want)
		}
	}
	if _, err := Parse(strings.Repeat(" ", MaxLength+1)); err == nil || !strings.Contains(err.Error(), "more than the limit") {
		t.Errorf("over-long pattern: %v", err)
	}
}

func TestStructure(t *testing.T) {
	// [b] FOLLOWEDBY [c] REPEATS 5 TIMES: the qualifier applies to c only (§9.5.1).
	p := MustParse("[a-a:x = 1] FOLLOWEDBY [c-c:x = 1] REPEATS 5 TIMES")
	j, ok := p.Root.(*Join)
	if !ok || j.Op != FollowedBy || len(j.Operands) != 2 {
		t.Fatalf("root = %#v, want a FOLLOWEDBY of two", p.Root)
	}
	if _, ok := j.Operands[0].(*Observation); !ok {
		t.Errorf("left = %T, want *Observation", j.Operands[0])
	}
	q, ok := j.Operands[1].(*Qualified)
	if !ok || len(q.Qualifiers) != 1 || q.Qualifiers[0].Kind != Repeats || q.Qualifiers[0].Times != 5 {
		t.Fatalf("right = %#v, want [c] REPEATS 5 TIMES", j.Operands[1])
	}

	// AND above OR above FOLLOWEDBY, chains left to right.
	p = MustParse("[a-a:x = 1] FOLLOWEDBY [b-b:x = 1] OR [c-c:x = 1] AND [d-d:x = 1] OR [e-e:x = 1]")
	fb := p.Root.(*Join)
	or := fb.Operands[1].(*Join)
	if fb.Op != FollowedBy || or.Op != Or || len(or.Operands) != 3 {
		t.Fatalf("got %s, want FOLLOWEDBY over a three-way OR", p)
	}
	if and := or.Operands[1].(*Join); and.Op != And || len(and.Operands) != 2 {
		t.Errorf("middle OR operand = %s, want an AND of two", and)
	}

	// Inside brackets, AND binds tighter than OR.
	p = MustParse("[file:a = 1 OR file:b = 2 AND file:c = 3]")
	l := p.Root.(*Observation).Cond.(*Logic)
	if l.Op != Or || len(l.Operands) != 2 || l.Operands[1].(*Logic).Op != And {
		t.Errorf("got %s, want a OR (b AND c)", p)
	}

	// Constants keep their decoded values.
	p = MustParse(`[x-t:a = 'it\'s' AND x-t:b = -42 AND x-t:c = 2.5 AND x-t:d = true AND x-t:e = b'AAEC' AND x-t:f = h'0aff' AND x-t:g = t'2020-02-29T12:00:00.5Z']`)
	var got []Constant
	for c := range p.Comparisons() {
		got = append(got, c.Value)
	}
	if len(got) != 7 {
		t.Fatalf("%d comparisons, want 7", len(got))
	}
	if got[0].Kind != String || got[0].Str != "it's" {
		t.Errorf("string = %+v", got[0])
	}
	if got[1].Kind != Int || got[1].Int != -42 {
		t.Errorf("int = %+v", got[1])
	}
	if got[2].Kind != Float || got[2].Float != 2.5 {
		t.Errorf("float = %+v", got[2])
	}
	if got[3].Kind != Bool || !got[3].Bool {
		t.Errorf("bool = %+v", got[3])
	}
	if got[4].Kind != Binary || !slices.Equal(got[4].Bytes(), []byte{0, 1, 2}) {
		t.Errorf("binary = %+v, bytes %v", got[4], got[4].Bytes())
	}
	if got[5].Kind != Hex || !slices.Equal(got[5].Bytes(), []byte{0x0a, 0xff}) {
		t.Errorf("hex = %+v, bytes %v", got[5], got[5].Bytes())
	}
	wantTime := time.Date(2020, 2, 29, 12, 0, 0, 5e8, time.UTC)
	if got[6].Kind != Timestamp || !got[6].Time.Equal(wantTime) {
		t.Errorf("timestamp = %+v, want %v", got[6], wantTime)
	}

	// Paths: quoted names unquoted, indices kept.
	p = MustParse("[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0 OR file:x[3] = 1]")
	var paths []Path
	for c := range p.Comparisons() {
		paths = append(paths, c.Path)
	}
	want := []Step{{Kind: Property, Name: "extensions"}, {Kind: Property, Name: "windows-pebinary-ext"},
		{Kind: Property, Name: "sections"}, {Kind: AnyIndex}, {Kind: Property, Name: "entropy"}}
	if paths[0].ObjectType != "file" || !slices.Equal(paths[0].Steps, want) {
		t.Errorf("path = %+v", paths[0])
	}
	if s := paths[1].Steps; len(s) != 2 || s[1] != (Step{Kind: Index, Index: 3}) {
		t.Errorf("path = %+v", paths[1])
	}

	// Positions point into the source.
	src := "  [file:name = 'x'] AND\n [process:pid = 4] WITHIN 9 SECONDS"
	p = MustParse(src)
	for c := range p.Comparisons() {
		if !strings.HasPrefix(src[c.Pos():], c.Path.ObjectType+":") {
			t.Errorf("comparison %s at %d points at %q", c, c.Pos(), src[c.Pos():])
		}
	}
	if at := p.Root.(*Join).Operands[1].(*Qualified).Qualifiers[0].At; !strings.HasPrefix(src[at:], "WITHIN") {
		t.Errorf("qualifier at %d points at %q", at, src[at:])
	}
}

func TestObjectTypes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"[file:name = 'x']", []string{"file"}},
		{"[process:pid = 1 OR file:name = 'x'] AND [file:size = 2] FOLLOWEDBY [EXISTS x-usb-device:serial]",
			[]string{"file", "process", "x-usb-device"}},
		{"([ipv4-addr:value = '1.2.3.4'] OR [ipv6-addr:value = '::1']) WITHIN 5 SECONDS", []string{"ipv4-addr", "ipv6-addr"}},
	} {
		if got := MustParse(tc.in).ObjectTypes(); !slices.Equal(got, tc.want) {
			t.Errorf("ObjectTypes(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestCheckRegex(t *testing.T) {
	// PCRE features RE2 lacks must pass; structural errors must not.
	for _, re := range []string{
		`^a(?=b)`, `(?<!x)y`, `(a)\1`, `a++b*+c?+`, `(?>atomic)`, `(?i)abc`, `(?P<n>x)(?P=n)`,
		`[[:alpha:]]+`, `[]a]`, `[^]a]`, `\Q(*[\E`, `(?#a comment with ( )x`, `(*UTF8)abc`, `a{2}{3}`,
		`{`, `a{,3}`, `x{2,}`, `\xd4\xc3`, `.+\@example\.com$`, `(?(1)a|b)`, `(?|(a)|(b))`, `a|`, `()`,
	} {
		if off, msg := checkRegex(re); msg != "" {
			t.Errorf("checkRegex(%q) = %d %q, want no error", re, off, msg)
		}
	}
	for _, re := range []string{`(`, `)`, `a(b(c)`, `[a`, `[[:alpha:]`, `*`, `a|*`, `(+)`, `a**`, `\`, `a{5,1}`, `(?#x`, `(*UTF`} {
		if _, msg := checkRegex(re); msg == "" {
			t.Errorf("checkRegex(%q) found no error", re)
		}
	}
}

func TestNodes(t *testing.T) {
	src := "[x-a:p = 1] AND ([x-b:q = 'z' OR x-b:r = h'00'] FOLLOWEDBY [x-c:s[*] = 2.5]) WITHIN 3 SECONDS"
	p := MustParse(src)
	and := p.Root.(*Join)
	q := and.Operands[1].(*Qualified)
	fb := q.Expr.(*Join)
	obs := fb.Operands[0].(*Observation)
	or := obs.Cond.(*Logic)
	cmp := or.Operands[1].(*Comparison)
	for _, tc := range []struct {
		name, str string
		pos       int
		wantStr   string
		wantAt    string // what the source holds at pos
	}{
		{"join", and.String(), and.Pos(), src, "[x-a"},
		{"qualified", q.String(), q.Pos(), "([x-b:q = 'z' OR x-b:r = h'00'] FOLLOWEDBY [x-c:s[*] = 2.5]) WITHIN 3 SECONDS", "[x-b"},
		{"observation", obs.String(), obs.Pos(), "[x-b:q = 'z' OR x-b:r = h'00']", "[x-b"},
		{"logic", or.String(), or.Pos(), "x-b:q = 'z' OR x-b:r = h'00'", "x-b:q"},
		{"comparison", cmp.String(), cmp.Pos(), "x-b:r = h'00'", "x-b:r"},
		{"constant", cmp.Value.String(), cmp.Value.At, "h'00'", "h'00'"},
	} {
		if tc.str != tc.wantStr {
			t.Errorf("%s: String() = %q, want %q", tc.name, tc.str, tc.wantStr)
		}
		if !strings.HasPrefix(src[tc.pos:], tc.wantAt) {
			t.Errorf("%s: Pos() = %d, where the source holds %q, want %q", tc.name, tc.pos, src[tc.pos:], tc.wantAt)
		}
	}
	if got := cmp.Path.String(); got != "x-b:r" {
		t.Errorf("Path.String() = %q", got)
	}
	var n int
	for range p.Observations() {
		n++
	}
	if n != 3 {
		t.Errorf("Observations() yielded %d, want 3", n)
	}
}
