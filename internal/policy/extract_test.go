package policy

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"quadshare/internal/realdata"
	"quadshare/internal/stix"
)

func TestExtract(t *testing.T) {
	s := DefaultScales()
	raw := obj(marks(tlp2Green, tlp1Amber, classJP2, classAU3, "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ec") +
		`,"created_by_ref":"` + tAgency + `","sectors":["Energy"],` +
		`"granular_markings":[{"lang":"ja","selectors":["name"]},{"marking_ref":"` + tlp2Red + `","selectors":["description","labels.[1]"]},` +
		`{"marking_ref":"` + classUS4 + `","selectors":["modified"]}],` +
		sharing(`"sectors":["water","widgets"],"recipients":["AU:alice","JP:kenji"],"reporter":{"ref":"`+tOpA+`","consent":"government"}`))
	f, err := s.Extract(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := Facts{
		ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Type: "indicator",
		// TLP 1.0 AMBER is the most restrictive TLP; the granular marking on
		// "modified" (which cannot be removed) raises the level to 4.
		Mark:      Mark{TLP: stix.TLPAmber, HasTLP: true, Class: 4, HasClass: true, Unknown: true},
		Granular:  []Granular{{Mark: Mark{TLP: stix.TLPRed, HasTLP: true}, Selectors: []string{"description", "labels.[1]"}}},
		Sectors:   SectorOf("energy") | SectorOf("water") | SectorOther,
		CreatedBy: tAgency, Reporter: tOpA, Consent: ConsentGovernment,
		Named: []Named{{"AU", "alice"}, {"JP", "kenji"}},
		Since: time.Date(2026, 11, 15, 12, 0, 0, 0, time.UTC),
	}
	if g, w := mustJSON(t, f), mustJSON(t, want); g != w {
		t.Errorf("Extract =\n%s\nwant\n%s", g, w)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestExtractErrors(t *testing.T) {
	s := DefaultScales()
	many := func(n int, item string) string {
		return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
	}
	tests := []struct{ name, raw, want string }{
		{"not json", `{"type":`, "invalid JSON"},
		{"array", `[1]`, "not a JSON object"},
		{"duplicate member", `{"type":"indicator","id":"indicator--1","object_marking_refs":["` + tlp2Red + `"],"object_marking_refs":[]}`, "duplicate member name"},
		{"duplicate nested", string(obj(sharing(`"reporter":{"ref":"identity--1","ref":"identity--2"}`))), "duplicate member name"},
		{"escaped quote", `{"type":"indicator","id":"indicator--1","a\\\":":1,"a\\\":":2}`, "duplicate member name"},
		{"escaped duplicate", `{"type":"indicator","id":"indicator--1","a":1,"\u0061":2}`, "duplicate member name"},
		// Stricter than encoding/json, which read the facts before: the store's
		// parser refuses these, so no stored object has them.
		{"duplicate deep", string(obj(`"x_deep":{"a":{"b":1,"b":2}}`)), "duplicate member name"},
		{"invalid UTF-8", "{\"type\":\"indicator\",\"id\":\"indicator--1\",\"name\":\"\xff\"}", "invalid UTF-8"},
		{"lone surrogate", `{"type":"indicator","id":"indicator--1","name":"\ud800"}`, "lone surrogate"},
		{"too deep", `{"type":"x-a","id":"x-a--1","p":` + strings.Repeat("[", 64) + strings.Repeat("]", 64) + `}`, "nesting deeper"},
		{"id not a string", `{"type":"indicator","id":7}`, "id: want a string, got number"},
		{"extensions null", string(obj(`"extensions":null`)), "extensions: not a JSON object"},
		{"sharing extension null", string(obj(`"extensions":{"` + SharingExtension + `":null}`)), "not a JSON object"},
		{"reporter a string", string(obj(sharing(`"reporter":"identity--1"`))), "reporter: not a JSON object"},
		{"granular not objects", string(obj(`"granular_markings":[null]`)), "granular_markings.[0]: not a JSON object"},
		{"granular an object", string(obj(`"granular_markings":{}`)), "granular_markings: want an array, got object"},
		{"lang a number", string(obj(`"granular_markings":[{"lang":1,"selectors":["name"]}]`)), "lang: want a string"},
		{"trailing data", `{"type":"indicator","id":"indicator--1"} {}`, "invalid JSON"},
		{"no id", `{"type":"indicator"}`, "does not name"},
		{"id of another type", `{"type":"indicator","id":"malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"}`, "does not name"},
		{"markings not strings", string(obj(`"object_marking_refs":[1]`)), "want an array of strings, got a number at [0]"},
		{"too many markings", string(obj(`"object_marking_refs":[` + many(65, `"x"`) + `]`)), "more than 64 object_marking_refs"},
		{"too many granular", string(obj(`"granular_markings":[` + many(65, `{"marking_ref":"`+tlp2Red+`","selectors":["name"]}`) + `]`)), "more than 64 granular_markings"},
		{"no selectors", string(obj(`"granular_markings":[{"marking_ref":"` + tlp2Red + `","selectors":[]}]`)), "want 1 to 256 selectors"},
		{"bad selector", string(obj(`"granular_markings":[{"marking_ref":"` + tlp2Red + `","selectors":["labels.[x]"]}]`)), "not a list index"},
		{"empty component", string(obj(`"granular_markings":[{"marking_ref":"` + tlp2Red + `","selectors":["labels..a"]}]`)), "empty component"},
		{"named without nation", string(obj(sharing(`"recipients":["alice"]`))), "want NATION:user-id"},
		{"reporter not identity", string(obj(sharing(`"reporter":{"ref":"malware--x"}`))), "want an identity id"},
		{"bad modified", strings.Replace(string(obj("")), weekAgo+`","name"`, `yesterday","name"`, 1), "invalid timestamp"},
		{"huge", `{"type":"x-a","id":"x-a--1","p":"` + strings.Repeat("a", stix.MaxObjectSize) + `"}`, "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Extract([]byte(tc.raw))
			if err == nil || !errors.Is(err, ErrFacts) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Extract error = %v, want ErrFacts containing %q", err, tc.want)
			}
		})
	}
}

// TestExtractRealData reads every object of real bundles: none is refused, and
// the markings found are the ones the data carries.
func TestExtractRealData(t *testing.T) {
	s := DefaultScales()
	data, err := os.ReadFile(realdata.Path(t, "stix/ics-attack-18.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bundle struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(data, &bundle); err != nil {
		t.Fatal(err)
	}
	unknown := 0
	for _, raw := range bundle.Objects {
		f, err := s.Extract(raw)
		if err != nil {
			t.Fatalf("%v", err)
		}
		if f.Unknown {
			unknown++ // ATT&CK's copyright statement marking
		}
		if f.HasTLP || f.HasClass {
			t.Errorf("%s: a TLP or classification found where the data has none", f.ID)
		}
	}
	if len(bundle.Objects) != 1826 || unknown != 1825 {
		t.Errorf("%d objects, %d with an unknown marking; want 1826 and 1825", len(bundle.Objects), unknown)
	}

	raw, err := os.ReadFile(realdata.Path(t, "stix/oasis-examples/interop-objectmarking-test.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := s.Extract(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !f.HasTLP || f.TLP != stix.TLPRed || !f.Unknown {
		t.Errorf("interop object markings: %+v, want TLP:RED and an unknown marking", f.Mark)
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(obj(marks(tlp2Green, classAU3)))
	f.Add(obj(`"granular_markings":[{"marking_ref":"` + tlp2Red + `","selectors":["labels.[1]","description"]}],` + sharing(`"recipients":["AU:a"],"reporter":{"ref":"identity--x","consent":"partners"}`)))
	f.Add([]byte(`{"type":"x","id":"x--1"}`))
	e := loadTestEngine(f)
	s := e.Scales()
	f.Fuzz(func(t *testing.T, raw []byte) {
		facts, err := s.Extract(raw)
		if err != nil {
			return
		}
		if len(facts.Granular) > maxGranular || len(facts.Named) > maxNamed {
			t.Fatalf("limits exceeded: %d granular, %d named", len(facts.Granular), len(facts.Named))
		}
		// Whatever was extracted, deciding and applying must not fail.
		for _, r := range []Recipient{jpNode, ownUser, opAUser} {
			d := e.Decide(&facts, &r, testNow)
			if d.Verdict == Deny {
				continue
			}
			if _, _, err := e.Apply(raw, &facts, d); err != nil {
				t.Fatalf("Apply after a successful Extract: %v", err)
			}
		}
	})
}
