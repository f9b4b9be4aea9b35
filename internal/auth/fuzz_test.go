package auth

import (
	"encoding/base64"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseCredentials feeds arbitrary Authorization headers to the Basic/token parser:
// it must never panic, and whatever it accepts must be well formed and survive a round
// trip through a fresh header.
func FuzzParseCredentials(f *testing.F) {
	tok := tokenPrefix + "0123456789abcdef_" + strings.Repeat("a1", secretLen/2)
	for _, s := range []string{
		"",
		"Basic",
		"Basic ",
		basic("alice", tok),
		basic("ålice@agency.gov.au", tok),
		basic("", tok),
		basic("alice", tok+":"),
		basic("a:b", tok),
		basic("alice", strings.ToUpper(tok)),
		"basic " + base64.StdEncoding.EncodeToString([]byte("peer-jp:"+tok)),
		"Basic " + base64.RawStdEncoding.EncodeToString([]byte("alice:"+tok)),
		"Basic " + base64.URLEncoding.EncodeToString([]byte("alice:\xff\xfe"+tok)),
		"Basic =====",
		"Basic YWxpY2U=",
		"Bearer " + tok,
		"Basic  \t" + base64.StdEncoding.EncodeToString([]byte("alice:"+tok)),
		"Basic " + base64.StdEncoding.EncodeToString([]byte("al\x00ice:"+tok)),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		c, err := ParseCredentials(header)
		if err != nil {
			if c != (Credentials{}) {
				t.Fatalf("error %v with credentials %+v", err, c)
			}
			return
		}
		if len(header) > maxHeaderLen {
			t.Fatalf("accepted a %d-byte header", len(header))
		}
		if c.Username == "" || len(c.Username) > maxUserLen || strings.Contains(c.Username, ":") ||
			!utf8.ValidString(c.Username) || hasControl(c.Username) {
			t.Fatalf("accepted user name %q", c.Username)
		}
		if len(c.TokenID) != tokenIDLen || !lowerHex(c.TokenID) || len(c.Secret) != secretLen || !lowerHex(c.Secret) {
			t.Fatalf("accepted token %q / %q", c.TokenID, c.Secret)
		}
		again, err := ParseCredentials(basic(c.Username, tokenPrefix+c.TokenID+"_"+c.Secret))
		if err != nil || again != c {
			t.Fatalf("round trip: %+v, %v; want %+v", again, err, c)
		}
	})
}
