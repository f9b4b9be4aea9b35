package report

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"quadshare/internal/policy"
)

func TestDefaultSectors(t *testing.T) {
	s, err := LoadSectors(strings.NewReader(string(DefaultSectorsJSON())))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Nations(); !slices.Equal(got, []string{"AU", "IN", "JP", "US"}) {
		t.Errorf("nations %v", got)
	}
	// The sizes of the national lists in the mission's domain facts.
	for nation, n := range map[string]int{"AU": 11, "IN": 6, "JP": 15, "US": 16} {
		if got := len(s.National(nation)); got != n {
			t.Errorf("%s has %d sectors, want %d", nation, got, n)
		}
	}
	// The common list is the one the sharing policy understands.
	if !slices.Equal(s.Common(), policy.SectorNames()) {
		t.Errorf("common list differs from the policy's:\n%v\n%v", s.Common(), policy.SectorNames())
	}
	for _, nation := range s.Nations() {
		for _, ns := range s.National(nation) {
			for _, c := range ns.Common {
				if policy.SectorOf(c) == policy.SectorOther {
					t.Errorf("%s %s maps to %q, unknown to the policy", nation, ns.ID, c)
				}
			}
		}
	}
	got, err := s.Map("AU", "water-sewerage", "energy")
	if err != nil || !slices.Equal(got, []string{"energy", "utilities", "water"}) {
		t.Errorf("Map = %v, %v", got, err)
	}
	if _, err := s.Map("AU", "dams"); err == nil {
		t.Error("mapped a US sector for AU")
	}
	if _, err := s.Map("FR", "energy"); err == nil {
		t.Error("mapped for an unknown nation")
	}
	// What a caller gets is a copy.
	n := s.National("US")
	n[0].Common[0] = "mining"
	if s.National("US")[0].Common[0] == "mining" {
		t.Error("National exposes the loaded data")
	}
}

func TestLoadSectorsErrors(t *testing.T) {
	bad := map[string]string{
		"empty common":    `{"common":[],"nations":{}}`,
		"common repeated": `{"common":["a1","a1"],"nations":{}}`,
		"common bad word": `{"common":["Energy"],"nations":{}}`,
		"nation code":     `{"common":["energy"],"nations":{"Aus":{"sectors":[{"id":"e","name":"E","common":["energy"]}]}}}`,
		"no sectors":      `{"common":["energy"],"nations":{"AU":{"sectors":[]}}}`,
		"id":              `{"common":["energy"],"nations":{"AU":{"sectors":[{"id":"E E","name":"E","common":["energy"]}]}}}`,
		"id twice":        `{"common":["energy"],"nations":{"AU":{"sectors":[{"id":"e","name":"E","common":["energy"]},{"id":"e","name":"F","common":["energy"]}]}}}`,
		"no name":         `{"common":["energy"],"nations":{"AU":{"sectors":[{"id":"e","name":"","common":["energy"]}]}}}`,
		"maps to nothing": `{"common":["energy"],"nations":{"AU":{"sectors":[{"id":"e","name":"E","common":[]}]}}}`,
		"maps off list":   `{"common":["energy"],"nations":{"AU":{"sectors":[{"id":"e","name":"E","common":["power"]}]}}}`,
		"unknown field":   `{"common":["energy"],"nations":{},"extra":1}`,
		"too large":       `{"common":["` + strings.Repeat("a", maxDataSize) + `"]}`,
		"not json":        `common: energy`,
	}
	for name, doc := range bad {
		if _, err := LoadSectors(strings.NewReader(doc)); !errors.Is(err, ErrData) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestOperatorCheck(t *testing.T) {
	s := DefaultSectors()
	if err := testOperator().Check(s); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(o *Operator){
		"no id":           func(o *Operator) { o.ID = "" },
		"no name":         func(o *Operator) { o.Name = "" },
		"jurisdiction":    func(o *Operator) { o.Jurisdiction = "au" },
		"no sectors":      func(o *Operator) { o.Sectors = nil },
		"foreign sector":  func(o *Operator) { o.Sectors = []string{"railways"} },
		"size band":       func(o *Operator) { o.SizeBand = "huge" },
		"consent":         func(o *Operator) { o.Consent = "always" },
		"no created":      func(o *Operator) { o.Created = time.Time{} },
		"modified before": func(o *Operator) { o.Modified = o.Created.Add(-time.Second) },
	}
	for name, edit := range tests {
		o := testOperator()
		edit(o)
		if err := o.Check(s); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestStatus(t *testing.T) {
	all := []Status{StatusNew, StatusTriaged, StatusShared, StatusClosed}
	allowed := map[[2]Status]bool{
		{StatusNew, StatusTriaged}:    true,
		{StatusNew, StatusClosed}:     true,
		{StatusTriaged, StatusShared}: true,
		{StatusTriaged, StatusClosed}: true,
		{StatusShared, StatusClosed}:  true,
	}
	for _, from := range all {
		for _, to := range all {
			got, err := from.Transition(to)
			if allowed[[2]Status{from, to}] {
				if err != nil || got != to {
					t.Errorf("%s → %s: %v", from, to, err)
				}
			} else if err == nil || got != from {
				t.Errorf("%s → %s allowed", from, to)
			}
		}
	}
	if _, err := Status("lost").Transition(StatusNew); err == nil {
		t.Error("unknown status accepted")
	}
	if len(StatusClosed.Next()) != 0 || !slices.Equal(StatusNew.Next(), []Status{StatusTriaged, StatusClosed}) {
		t.Error("Next")
	}
}

func TestNewIDAndDerivedIDs(t *testing.T) {
	a, b := NewID(), NewID()
	if a == b || !isUUID(a) || a[14] != '4' {
		t.Errorf("NewID %s %s", a, b)
	}
	// RFC 9562 UUIDv5 of a name: the same input gives the same id, version 5.
	x := derivedID("incident", "r/incident")
	if x != derivedID("incident", "r/incident") || x == derivedID("incident", "s/incident") || x[len("incident--")+14] != '5' {
		t.Errorf("derived id %s", x)
	}
}
