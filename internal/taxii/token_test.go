package taxii

import (
	"encoding/base64"
	"testing"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
)

func TestTokenRoundTripAndTamper(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	tk := tokens{key: key}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	scope := tokenScope{Endpoint: epObjects, Collection: "c1", Principal: "u1",
		Filter: filter{Types: []string{"malware", "indicator"}, Limit: 5}}
	c := cursor{Snapshot: now.Add(time.Second), After: now.Add(-time.Hour).Add(123 * time.Microsecond), Expires: now.Add(time.Hour)}
	tok := tk.encode(c, scope)

	got, ok := tk.decode(tok, scope, now)
	if !ok || !got.After.Equal(c.After) || !got.Snapshot.Equal(c.Snapshot) {
		t.Fatalf("round trip: %+v %v, want %+v", got, ok, c)
	}
	// The limit and the order of match values are not part of the scope.
	same := scope
	same.Filter.Limit = 50
	same.Filter.Types = []string{"indicator", "malware"}
	if _, ok := tk.decode(tok, same, now); !ok {
		t.Fatal("token refused for the same query with another limit and value order")
	}

	ts, _ := stix.ParseTimestamp("2020-01-01T00:00:00Z")
	others := map[string]tokenScope{}
	add := func(name string, f func(*tokenScope)) {
		s := scope
		s.Filter.Types = append([]string(nil), scope.Filter.Types...)
		f(&s)
		others[name] = s
	}
	add("collection", func(s *tokenScope) { s.Collection = "c2" })
	add("principal", func(s *tokenScope) { s.Principal = "u2" })
	add("endpoint", func(s *tokenScope) { s.Endpoint = epManifest })
	add("object", func(s *tokenScope) { s.Object = "x--y" })
	add("types", func(s *tokenScope) { s.Filter.Types = []string{"malware"} })
	add("ids", func(s *tokenScope) { s.Filter.IDs = []string{"malware--1"} })
	add("added_after", func(s *tokenScope) { s.Filter.AddedAfter = now })
	add("version", func(s *tokenScope) { s.Filter.Versions = store.VersionFilter{All: true} })
	add("exact version", func(s *tokenScope) { s.Filter.Versions = store.VersionFilter{Exact: []stix.Timestamp{ts}} })
	add("spec_version", func(s *tokenScope) { s.Filter.SpecVersions = []string{"2.0"} })
	for name, s := range others {
		if _, ok := tk.decode(tok, s, now); ok {
			t.Errorf("token accepted for another %s", name)
		}
	}
	if _, ok := (tokens{key: []byte("another key, another key, another")}).decode(tok, scope, now); ok {
		t.Error("token accepted under another key")
	}
	if _, ok := tk.decode(tok, scope, c.Expires); ok {
		t.Error("expired token accepted")
	}
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		if _, ok := tk.decode(base64.RawURLEncoding.EncodeToString(b), scope, now); ok {
			t.Fatalf("token with byte %d flipped accepted", i)
		}
	}
	for _, bad := range []string{"", "!!!", tok[:len(tok)-2], tok + "AA"} {
		if _, ok := tk.decode(bad, scope, now); ok {
			t.Errorf("malformed token %q accepted", bad)
		}
	}
}

func FuzzTokenDecode(f *testing.F) {
	tk := tokens{key: []byte("0123456789abcdef0123456789abcdef")}
	scope := tokenScope{Endpoint: epObjects, Collection: "c", Principal: "p"}
	now := time.Unix(1e9, 0)
	f.Add(tk.encode(cursor{Snapshot: now, After: now, Expires: now.Add(time.Hour)}, scope))
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		c, ok := tk.decode(s, scope, now)
		if ok && tk.encode(c, scope) != s {
			t.Fatalf("accepted a token this server did not make: %q", s)
		}
	})
}
