package policy

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"quadshare/internal/stix"
)

func TestLoadConfig(t *testing.T) {
	e := loadTestEngine(t)
	c := e.Config()
	if c.Revision != 7 || c.Nation != "AU" || len(c.Agreements) != 3 {
		t.Fatalf("config = %+v", c)
	}
	jp := c.Agreements[0]
	if jp.Partner != "JP" || jp.Version != 3 || time.Duration(jp.Embargo) != 24*time.Hour || jp.MaxTLP != "amber" {
		t.Errorf("JP agreement = %+v", jp)
	}
	// A configuration written back reads the same.
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := LoadConfig(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if b2, _ := json.Marshal(c2); !bytes.Equal(b, b2) {
		t.Errorf("round trip changed the configuration:\n%s\n%s", b, b2)
	}
}

func TestConfigErrors(t *testing.T) {
	base, err := os.ReadFile("testdata/policy.json")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(from, to string) string {
		if !bytes.Contains(base, []byte(from)) {
			t.Fatalf("testdata/policy.json has no %q", from)
		}
		return strings.Replace(string(base), from, to, 1)
	}
	tests := []struct{ name, file, want string }{
		{"format", edit(`"format": 1`, `"format": 2`), "format is 2; this version reads format 1"},
		{"revision", edit(`"revision": 7`, `"revision": 0`), "revision must be 1 or more"},
		{"nation", edit(`"nation": "AU"`, `"nation": "Australia"`), `nation "Australia": want an ISO 3166-1 alpha-2 code`},
		{"agency", edit(`"agency": "identity--`, `"agency": "org--`), "want our agency's STIX identity id"},
		{"default tlp", edit(`"default_tlp": "amber"`, `"default_tlp": "orange"`), `default_tlp "orange": want one of clear, green, amber, amber+strict, red`},
		{"node level", edit(`"node_level": 4`, `"node_level": 9`), "node_level 9: want a level of the common scale, 0 to 5"},
		{"unknown field", edit(`"revision": 7`, `"revison": 7`), `unknown field "revison"`},
		{"network", edit(`"100.64.0.0/10"`, `"100.64.0.0"`), `redaction.internal_networks[0] "100.64.0.0": want a CIDR prefix`},
		{"property", edit(`"pattern",`, `"labels.[x]",`), `redaction.properties[2]: selector "labels.[x]"`},
		{"partner", edit(`"partner": "IN"`, `"partner": "in"`), `partner "in": want an ISO 3166-1 alpha-2 code`},
		{"our own nation", edit(`"partner": "IN"`, `"partner": "AU"`), "agreement with AU: an agreement is with another nation"},
		{"duplicate", edit(`"partner": "IN"`, `"partner": "JP"`), "more than one agreement with JP"},
		{"version", edit(`"version": 3`, `"version": 0`), "agreement with JP: version must be 1 or more"},
		{"type", edit(`"object_types": ["indicator"]`, `"object_types": ["Indicator"]`), `agreement with IN: object_types: "Indicator" is not a STIX type name`},
		{"no types", edit(`"object_types": ["indicator"]`, `"object_types": []`), `object_types: empty; list the STIX types allowed, or "*" for all`},
		{"sector", edit(`"sectors": ["energy", "financial-services"]`, `"sectors": ["power"]`), `agreement with IN: sectors: "power" is not on the common list`},
		{"max tlp", edit(`"max_tlp": "green"`, `"max_tlp": "TLP:AMBER+STRICT+"`), `agreement with IN: max_tlp "TLP:AMBER+STRICT+"`},
		{"max level", edit(`"max_level": 2`, `"max_level": -1`), "agreement with IN: max_level -1"},
		{"embargo", edit(`"embargo": "72h"`, `"embargo": "3 days"`), `duration: time: unknown unit`},
		{"negative embargo", edit(`"embargo": "72h"`, `"embargo": "-1h"`), "embargo: must not be negative"},
		{"approved", edit(`"approved": "2026-10-01T00:00:00Z"`, `"approved": "2026-10-01"`), "agreement with JP: approved: invalid timestamp"},
		{"trailing", string(base) + "{}", "trailing data"},
		{"too large", `{"format":1,"x":"` + strings.Repeat("a", maxConfigBytes) + `"}`, "larger than"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadConfig(strings.NewReader(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("LoadConfig error = %v\nwant one containing %q", err, tc.want)
			}
		})
	}
	// Every problem is reported, one per line.
	_, err = LoadConfig(strings.NewReader(strings.Replace(edit(`"revision": 7`, `"revision": 0`), `"nation": "AU"`, `"nation": "au"`, 1)))
	if err == nil {
		t.Fatal("no error")
	}
	if n := strings.Count(err.Error(), "\n") + 1; n < 2 {
		t.Errorf("want each problem on its own line, got %d line(s):\n%v", n, err)
	}
}

func TestScales(t *testing.T) {
	s := DefaultScales()
	tests := []struct {
		nation, label string
		want          Level
	}{
		{"AU", "OFFICIAL: Sensitive", 2}, {"AU", " protected ", 3}, {"IN", "RESTRICTED", 2}, {"US", "CUI", 2},
		{"JP", "取扱注意", 2}, {"JP", "秘", 3}, {"JP", "極秘", 4}, {"US", "TOP SECRET", 5},
	}
	for _, tc := range tests {
		if got, ok := s.Level(tc.nation, tc.label); !ok || got != tc.want {
			t.Errorf("Level(%s, %q) = %d, %v; want %d", tc.nation, tc.label, got, ok, tc.want)
		}
	}
	if _, ok := s.Level("AU", "CUI"); ok {
		t.Error("CUI is not an Australian label")
	}
	// Fixed ids: stable across runs and machines, distinct per nation and level.
	if got := ClassificationMarkingID("AU", 3); got != "marking-definition--"+uuid5("4beb45ba-4a08-4796-9399-d0de46fc0a3b", "AU:3") || got[len("marking-definition--")+14] != '5' {
		t.Errorf("ClassificationMarkingID(AU, 3) = %s", got)
	}
	// RFC 9562 appendix A.4 example: the DNS namespace and "www.example.com".
	if got := uuid5("6ba7b810-9dad-11d1-80b4-00c04fd430c8", "www.example.com"); got != "2ed6657d-e927-568b-95e1-2665a8aea6a2" {
		t.Errorf("uuid5 = %s, want the RFC 9562 example", got)
	}
	seen := map[string]bool{}
	for n := range s.Nations {
		for l := Level(0); l <= MaxLevel; l++ {
			id := ClassificationMarkingID(n, l)
			if seen[id] {
				t.Errorf("id %s twice", id)
			}
			seen[id] = true
		}
	}
	// The marking definition we publish is read back to its level.
	md, err := s.ClassificationMarking("JP", 3, tJPAgcy, "2026-01-01T00:00:00.000Z")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		ID         string                     `json:"id"`
		Name       string                     `json:"name"`
		Extensions map[string]json.RawMessage `json:"extensions"`
	}
	if err := json.Unmarshal(md, &m); err != nil {
		t.Fatal(err)
	}
	if m.ID != ClassificationMarkingID("JP", 3) || m.Name != "JP 秘" || string(m.Extensions[ClassificationExtension]) !=
		`{"extension_type":"property-extension","nation":"JP","label":"秘","level":3}` {
		t.Errorf("marking definition = %s", md)
	}
	f, err := s.Extract(obj(marks(m.ID)))
	if err != nil || !f.HasClass || f.Class != 3 {
		t.Errorf("object marked %s: %+v, %v", m.ID, f.Mark, err)
	}
}

func TestScalesErrors(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"format", `{"format":2,"levels":["a","b","c","d","e","f"],"nations":{"AU":[["A"],["B"],["C"],["D"],["E"],["F"]]}}`, "format is 2"},
		{"levels", `{"format":1,"levels":["a"],"nations":{"AU":[["A"],["B"],["C"],["D"],["E"],["F"]]}}`, "levels: want 6 names"},
		{"short nation", `{"format":1,"levels":["a","b","c","d","e","f"],"nations":{"AU":[["A"],["B"]]}}`, "nation AU: want labels for 6 levels, got 2"},
		{"duplicate", `{"format":1,"levels":["a","b","c","d","e","f"],"nations":{"AU":[["A"],["B"],["C"],["D"],["E"],["a"]]}}`, `label "a" is at level 0 and level 5`},
		{"empty", `{"format":1,"levels":["a","b","c","d","e","f"],"nations":{"AU":[["A"],[],["C"],["D"],["E"],["F"]]}}`, "level 1: no label"},
		{"nation code", `{"format":1,"levels":["a","b","c","d","e","f"],"nations":{"Aus":[["A"],["B"],["C"],["D"],["E"],["F"]]}}`, `nation "Aus"`},
		{"unknown", `{"format":1,"level":[]}`, `unknown field "level"`},
	}
	for _, tc := range tests {
		if _, err := LoadScales(strings.NewReader(tc.file)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error = %v, want %q", tc.name, err, tc.want)
		}
	}
}

func TestExplain(t *testing.T) {
	e := loadTestEngine(t)
	f, err := e.Extract(obj(marks(tlp2Amber, classJP2) + `,"created_by_ref":"` + tOpA + `",` + sharing(`"sectors":["energy"]`)))
	if err != nil {
		t.Fatal(err)
	}
	ex := e.Explain(&f, nil, testNow)
	want := []struct{ nation, rule, text string }{
		{"IN", RuleAgreementTLP, "the object is TLP:AMBER; the agreement with IN (version 1) allows up to TLP:GREEN"},
		{"JP", RuleOriginator, "TLP:AMBER leaves the nation only when our agency authored it"},
		{"US", RuleOriginator, "TLP:AMBER leaves the nation only when our agency authored it"},
	}
	if len(ex) != len(want) {
		t.Fatalf("%d explanations, want %d", len(ex), len(want))
	}
	for i, w := range want {
		if ex[i].Recipient.Nation != w.nation || ex[i].Decision.Rule != w.rule || !strings.Contains(ex[i].Reason, w.text) {
			t.Errorf("explanation %d: %s %s %q; want %s %s containing %q", i, ex[i].Recipient, ex[i].Decision.Rule, ex[i].Reason, w.nation, w.rule, w.text)
		}
	}
	ex = e.Explain(&f, []Recipient{opAUser, govUser}, testNow)
	if ex[0].Decision.Verdict != Allow || !strings.Contains(ex[0].Reason, "allowed: TLP:AMBER at level 2 (sensitive)") {
		t.Errorf("author: %+v", ex[0])
	}
	if ex[1].Decision.Verdict != Redact || !strings.Contains(ex[1].Reason, "allowed after removing personal and internal data") {
		t.Errorf("government: %+v", ex[1])
	}
}

func TestExtensionDefinitions(t *testing.T) {
	objs, err := ExtensionDefinitions()
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, raw := range objs {
		o, err := stix.Decode(raw)
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if err := stix.Validate(&o); err != nil {
			t.Errorf("%s: %v", o.ID, err)
		}
		ids[o.ID] = true
	}
	// Every classification marking definition we publish is valid STIX.
	s := DefaultScales()
	for n := range s.Nations {
		for l := Level(0); l <= MaxLevel; l++ {
			raw, err := s.ClassificationMarking(n, l, ExtensionsAuthor, "2026-11-22T00:00:00.000Z")
			if err != nil {
				t.Fatal(err)
			}
			o, err := stix.Decode(raw)
			if err == nil {
				err = stix.Validate(&o)
			}
			if err != nil {
				t.Errorf("%s: %v", raw, err)
			}
		}
	}
	for _, id := range []string{ExtensionsAuthor, ClassificationExtension, SharingExtension} {
		if !ids[id] {
			t.Errorf("%s is not defined", id)
		}
	}
}

func TestCheckUpdate(t *testing.T) {
	prev := loadTestEngine(t).Config()
	next := func(edit func(c *Config)) *Config {
		c := prev
		c.Agreements = append([]Agreement(nil), prev.Agreements...)
		c.Revision++
		edit(&c)
		return &c
	}
	tests := []struct {
		name string
		c    *Config
		want string // "" for no error
	}{
		{"new revision, same terms", next(func(c *Config) {}), ""},
		{"same revision", next(func(c *Config) { c.Revision = prev.Revision }), "revision 7 does not follow the revision in force, 7"},
		{"terms changed, new version", next(func(c *Config) { c.Agreements[0].MaxTLP = "green"; c.Agreements[0].Version++ }), ""},
		{"terms changed, same version", next(func(c *Config) { c.Agreements[0].MaxLevel = 4 }), "agreement with JP: the terms changed but the version is still 3"},
		{"sectors changed, same version", next(func(c *Config) { c.Agreements[2].Sectors = []string{"energy"} }), "agreement with IN: the terms changed"},
		{"version goes down", next(func(c *Config) { c.Agreements[1].Version = 4 }), "agreement with US: version 4 is older than the version in force, 5"},
		{"new partner", next(func(c *Config) {
			c.Agreements = append(c.Agreements, Agreement{Partner: "GB", Version: 1, ObjectTypes: []string{"*"}, Sectors: []string{"*"}, MaxTLP: "green"})
		}), ""},
	}
	for _, tc := range tests {
		err := tc.c.CheckUpdate(&prev)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s: CheckUpdate = %v, want %q", tc.name, err, tc.want)
		}
	}
}
