package policy

import (
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"quadshare/internal/stix"
	"quadshare/internal/stix/stixgen"
)

// TestScrubFindsMatchesScrub: Apply sends an object that only scrubbing
// concerns as it is when scrubFinds says there is nothing to scrub, so
// scrubFinds must never miss what scrubTree would change. It is compared with
// scrubTree over real bundles, generated objects, and variants of them with
// personal and internal data, plain and behind JSON escapes, at the configured
// paths and elsewhere: whenever scrubTree finds something, so must scrubFinds;
// and where the strict parser reads the object, they agree.
func TestScrubFindsMatchesScrub(t *testing.T) {
	e := loadTestEngine(t) // properties: name, description, pattern, external_references.*.description, extensions.*.notes
	_, objects := realObjects(t)
	g := stixgen.New(11)
	for range 3000 {
		objects = append(objects, g.Next())
	}
	texts := []string{
		"contact jane.doe@grid-op.example.com now", `contact jane.doe\u0040grid-op.example.com now`,
		"beacon to 192.168.10.4", `beacon to 192\u002e168.10.4`, "C2 at 198.51.100.7", "host dc01.corp",
		"public evil.example.com", "call +61 2 9876 5432", "CVE-2024-12345 on 2026-11-22", `fe80::1`, `\ud83d\ude00 plain`,
	}
	rng := rand.New(rand.NewPCG(3, 4))
	n := len(objects)
	for i := 0; i < n; i += 3 {
		var m map[string]any
		if err := json.Unmarshal(objects[i], &m); err != nil {
			t.Fatal(err)
		}
		text := texts[rng.IntN(len(texts))]
		var raw string
		switch rng.IntN(5) {
		case 0:
			m["description"] = "DESC"
		case 1:
			m["external_references"] = []any{map[string]any{"source_name": "s", "description": "DESC"}}
		case 2:
			m["extensions"] = map[string]any{"x-ext": map[string]any{"notes": []any{"ok", "DESC"}}}
		case 3:
			m["labels"] = []any{"DESC"} // not a configured path
		case 4:
			m["name"] = map[string]any{"nested": []any{"DESC"}} // a whole subtree selected
		}
		b, _ := json.Marshal(m)
		raw = strings.Replace(string(b), `"DESC"`, `"`+text+`"`, 1)
		objects = append(objects, []byte(raw))
	}
	finds, agree := 0, 0
	for _, raw := range objects {
		got := e.scrubFinds(raw)
		obj, err := decodeObject(raw)
		if err != nil {
			t.Fatalf("%.200s: %v", raw, err)
		}
		want := len(e.scrubTree(obj)) > 0
		if want && !got {
			t.Fatalf("scrubFinds misses what scrubTree changes in %.300s", raw)
		}
		if stix.WithView(raw, func(stix.View) error { return nil }) == nil {
			if got != want {
				t.Fatalf("scrubFinds = %v, scrubTree finds %v, in %.300s", got, want, raw)
			}
			agree++
		}
		if got {
			finds++
		}
	}
	if finds == 0 || finds == len(objects) || agree < len(objects)*9/10 {
		t.Fatalf("%d objects, scrubFinds true for %d, compared both ways on %d", len(objects), finds, agree)
	}
	t.Logf("%d objects, %d to scrub, %d read by the strict parser", len(objects), finds, agree)
}

// FuzzScrubString: scrubString skips an expression when the string lacks every
// character its matches need; it must give what applying all of them gives.
func FuzzScrubString(f *testing.F) {
	for _, s := range []string{"contact jane.doe@grid-op.example.com now", "beacon to 192.168.10.4", "v6 fd12:3456::1",
		"host dc01.corp", "call +61 2 9876 5432 or (02) 9876 5432 or 0412 345 678", "plain words", "0049 30 1234567"} {
		f.Add(s)
	}
	e := loadTestEngine(f)
	f.Fuzz(func(t *testing.T, s string) {
		want, kinds := s, []string(nil)
		for _, r := range []struct {
			re   *regexp.Regexp
			kind string
			keep func(string) bool
		}{
			{emailRE, KindEmail, nil},
			{ipv4RE, KindInternalAddress, func(m string) bool { return !e.internalAddr(m) }},
			{ipv6RE, KindInternalAddress, func(m string) bool { return !e.internalAddr(m) }},
			{hostRE, KindInternalHost, func(m string) bool { return !e.internalHost(m) }},
			{phoneRE, KindPhone, nil},
		} {
			found := false
			want = r.re.ReplaceAllStringFunc(want, func(m string) string {
				if r.keep != nil && r.keep(m) {
					return m
				}
				found = true
				return "[redacted:" + r.kind + "]"
			})
			if found {
				kinds = append(kinds, r.kind)
			}
		}
		got, gotKinds := e.scrubString(s)
		if got != want || !slices.Equal(gotKinds, kinds) {
			t.Errorf("scrubString(%q) = %q %v, want %q %v", s, got, gotKinds, want, kinds)
		}
	})
}
