package policy

import (
	"bytes"
	"os"
	"testing"
)

// FuzzLoadConfig feeds the policy file reader and the engine hostile files: they
// must be refused with an error or accepted, never crash, and an accepted one
// must build an engine.
func FuzzLoadConfig(f *testing.F) {
	good, err := os.ReadFile("testdata/policy.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"revision":1,"nation":"AU","agency":"identity--x","default_tlp":"red","agreements":[{"partner":"AU"}]}`))
	f.Add([]byte(`{"format":1,"redaction":{"properties":["a.*.b","[0]"],"internal_networks":["::/0"]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		cfg, err := LoadConfig(bytes.NewReader(b))
		if err != nil {
			return
		}
		if _, err := New(cfg, DefaultScales()); err != nil {
			t.Fatalf("LoadConfig accepted a configuration New refuses: %v", err)
		}
	})
}

// FuzzLoadScales: hostile scales files are refused or accepted, never a crash.
func FuzzLoadScales(f *testing.F) {
	f.Add(defaultScalesJSON)
	f.Add([]byte(`{"format":1,"levels":["a"],"nations":{"AU":[["X"]]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := LoadScales(bytes.NewReader(b))
		if err != nil {
			return
		}
		for n := range s.Nations {
			for l := range Level(len(s.Levels)) {
				if label, ok := s.Label(n, l); ok {
					if got, ok := s.Level(n, label); !ok || got != l {
						t.Fatalf("%s label %q of level %d maps back to %d, %v", n, label, l, got, ok)
					}
				}
			}
		}
	})
}
