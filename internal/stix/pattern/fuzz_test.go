package pattern

import (
	"errors"
	"reflect"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, tc := range validCases {
		f.Add(tc.in)
	}
	for _, tc := range invalidCases {
		if len(tc.in) < 1000 {
			f.Add(tc.in)
		}
	}
	for _, s := range []string{
		"[ipv4-addr:value = '198.51.100.7']",
		"[domain-name:value = 'bad.example.net'] OR [url:value = 'http://bad.example.net/x']",
		"([file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709'] AND [process:name = 'x.exe']) WITHIN 60 SECONDS",
		"[email-message:from_ref.value MATCHES '^[a-z]+@(evil|bad)\\\\.org$']",
		"[network-traffic:src_ref.value ISSUBSET '10.0.0.0/8' AND network-traffic:dst_port IN (80, 443, 8080)]",
		"[windows-registry-key:values[*].data = 'run' AND windows-registry-key:key LIKE 'HKEY_%']",
		"[x-custom-obj:'a b'.c[12] != b'AAAA'] START t'2020-01-01T00:00:00Z' STOP t'2021-01-01T00:00:00Z'",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := Parse(s)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			if perr.Pos < 0 || perr.Pos > len(s) || perr.Line < 1 || perr.Column < 1 || perr.Msg == "" {
				t.Fatalf("malformed error %+v", perr)
			}
			return
		}
		canon := p.String()
		q, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical form of %q does not parse: %q: %v", s, canon, err)
		}
		if again := q.String(); again != canon {
			t.Fatalf("round trip of %q changed:\n first %q\nsecond %q", s, canon, again)
		}
		clearPositions(p.Root)
		clearPositions(q.Root)
		if !reflect.DeepEqual(p.Root, q.Root) {
			t.Fatalf("canonical form %q of %q parses to a different tree", canon, s)
		}
		if len(p.ObjectTypes()) == 0 {
			t.Fatalf("parsed %q but found no object types", s)
		}
	})
}
