package policy

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"quadshare/internal/stix"
)

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("output is not a JSON object: %v\n%s", err, b)
	}
	return m
}

// Redaction that empties a list or an object removes it: STIX forbids empty lists
// (§2.12), extensions and dictionaries, and what leaves must stay valid.
func TestRedactSelectorsDropsWhatItEmpties(t *testing.T) {
	ext := "extension-definition--11111111-1111-4111-8111-111111111111"
	raw := []byte(`{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","labels":["a"],"x_kept":{},` +
		`"extensions":{"` + ext + `":{"extension_type":"property-extension","x":1}},` +
		`"external_references":[{"source_name":"s","url":"u"},{"url":"v"}]}`)
	out, _, err := RedactSelectors(raw, []string{"labels.[0]", "extensions." + ext, "external_references.[1].url"})
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, out)
	for _, gone := range []string{"labels", "extensions"} {
		if v, ok := got[gone]; ok {
			t.Errorf("%s = %v left emptied; want it removed", gone, v)
		}
	}
	if er := got["external_references"].([]any); len(er) != 2 {
		t.Errorf("external_references = %v; want the emptied reference kept in its place", er)
	}
	if v, ok := got["x_kept"]; !ok || len(v.(map[string]any)) != 0 {
		t.Errorf("x_kept = %v; an object empty before redaction stays as it was", v)
	}
}

func TestRedactSelectors(t *testing.T) {
	raw := []byte(`{"type":"indicator","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","name":"n","description":"secret",` +
		`"labels":["a","b","c"],"external_references":[{"source_name":"s","url":"https://intra.example/x"},{"source_name":"t"}],` +
		`"granular_markings":[{"marking_ref":"` + tlp2Red + `","selectors":["labels.[0]","description"]},` +
		`{"lang":"de","selectors":["labels.[2]"]},{"marking_ref":"` + tlp2Amber + `","selectors":["external_references.[0].url","labels.[1]"]}]}`)
	out, recs, err := RedactSelectors(raw, []string{"labels.[0]", "description", "external_references.[0].url", "pattern"})
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, out)
	if _, ok := got["description"]; ok {
		t.Error("description kept")
	}
	if l := got["labels"]; !reflect.DeepEqual(l, []any{"b", "c"}) {
		t.Errorf("labels = %v, want [b c]", l)
	}
	er := got["external_references"].([]any)
	if _, ok := er[0].(map[string]any)["url"]; ok || len(er) != 2 {
		t.Errorf("external_references = %v", er)
	}
	// The RED marking's content is gone, so is the marking; the others follow the
	// renumbered list.
	wantGM := []any{
		map[string]any{"lang": "de", "selectors": []any{"labels.[1]"}},
		map[string]any{"marking_ref": tlp2Amber, "selectors": []any{"labels.[0]"}},
	}
	if gm := got["granular_markings"]; !reflect.DeepEqual(gm, wantGM) {
		t.Errorf("granular_markings = %v\nwant %v", gm, wantGM)
	}
	wantRecs := []Redacted{{"labels.[0]", KindGranular}, {"description", KindGranular}, {"external_references.[0].url", KindGranular}}
	if !reflect.DeepEqual(recs, wantRecs) {
		t.Errorf("records = %v, want %v", recs, wantRecs)
	}
}

func TestRedactWholeList(t *testing.T) {
	raw := []byte(`{"type":"note","id":"note--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","labels":["a","b"],"content":"c",` +
		`"granular_markings":[{"marking_ref":"` + tlp2Red + `","selectors":["labels"]},{"lang":"en","selectors":["labels.[1]","content"]}]}`)
	out, _, err := RedactSelectors(raw, []string{"labels"})
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, out)
	if _, ok := got["labels"]; ok {
		t.Error("labels kept")
	}
	want := []any{map[string]any{"lang": "en", "selectors": []any{"content"}}}
	if !reflect.DeepEqual(got["granular_markings"], want) {
		t.Errorf("granular_markings = %v, want %v", got["granular_markings"], want)
	}
}

func TestAnonymise(t *testing.T) {
	raw := []byte(`{"type":"sighting","id":"sighting--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created_by_ref":"` + tOpA + `",` +
		`"where_sighted_refs":["` + tOpB + `","` + tOpA + `"],"sighting_of_ref":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",` +
		sharing(`"sectors":["energy"],"reporter":{"ref":"`+tOpA+`","sector":"energy","size_band":"large","consent":"never"}`) + `}`)
	out, recs, err := Anonymise(raw, tOpA, tAgency)
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, out)
	if got["created_by_ref"] != tAgency {
		t.Errorf("created_by_ref = %v", got["created_by_ref"])
	}
	if w := got["where_sighted_refs"]; !reflect.DeepEqual(w, []any{tOpB, tAgency}) {
		t.Errorf("where_sighted_refs = %v", w)
	}
	rep := got["extensions"].(map[string]any)[SharingExtension].(map[string]any)["reporter"]
	if want := map[string]any{"sector": "energy", "size_band": "large"}; !reflect.DeepEqual(rep, want) {
		t.Errorf("reporter = %v, want %v", rep, want)
	}
	want := []Redacted{
		{"created_by_ref", KindReporter},
		{"extensions." + SharingExtension + ".reporter.ref", KindReporter},
		{"where_sighted_refs.[1]", KindReporter},
		{"extensions." + SharingExtension + ".reporter.consent", KindReporter},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records = %v\nwant %v", recs, want)
	}
}

func TestScrub(t *testing.T) {
	e := loadTestEngine(t)
	tests := []struct {
		in, want string
		kinds    []string
	}{
		{"contact jane.doe@grid-op.example.com now", "contact [redacted:email] now", []string{KindEmail}},
		{"beacon to 192.168.10.4 and 10.1.2.3", "beacon to [redacted:internal-address] and [redacted:internal-address]", []string{KindInternalAddress}},
		{"C2 at 198.51.100.7 and 8.8.8.8", "C2 at 198.51.100.7 and 8.8.8.8", nil},
		{"CGNAT 100.64.1.2 is ours", "CGNAT [redacted:internal-address] is ours", []string{KindInternalAddress}},
		{"v6 fd12:3456::1 and fe80::1 vs 2001:db8::5", "v6 [redacted:internal-address] and [redacted:internal-address] vs 2001:db8::5", []string{KindInternalAddress}},
		{"host dc01.corp and scada.grid.example", "host [redacted:internal-host] and [redacted:internal-host]", []string{KindInternalHost}},
		{"public evil.example.com stays", "public evil.example.com stays", nil},
		{"call +61 2 9876 5432 or (02) 9876 5432 or 0412 345 678", "call [redacted:phone] or [redacted:phone] or [redacted:phone]", []string{KindPhone}},
		{"CVE-2024-12345, T1059.001, 2026-11-22T12:00:00Z, v1.2.3", "CVE-2024-12345, T1059.001, 2026-11-22T12:00:00Z, v1.2.3", nil},
		{"mail ops@dc01.corp from 10.0.0.9", "mail [redacted:email] from [redacted:internal-address]", []string{KindEmail, KindInternalAddress}},
	}
	for _, tc := range tests {
		got, kinds := e.scrubString(tc.in)
		if got != tc.want || !reflect.DeepEqual(kinds, tc.kinds) {
			t.Errorf("scrub(%q) = %q %v, want %q %v", tc.in, got, kinds, tc.want, tc.kinds)
		}
	}
}

func TestScrubProperties(t *testing.T) {
	e := loadTestEngine(t) // properties: name, description, pattern, external_references.*.description, extensions.*.notes
	raw := []byte(`{"type":"report","id":"report--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","name":"from 10.0.0.1","description":"ask bob@x.example",` +
		`"labels":["10.0.0.2"],"external_references":[{"source_name":"s","description":"see 192.168.0.1"},{"source_name":"t"}],` +
		`"extensions":{"` + SharingExtension + `":{"extension_type":"property-extension","notes":["host pc7.corp"]}}}`)
	out, recs, err := e.Scrub(raw)
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, out)
	if got["name"] != "from [redacted:internal-address]" || got["description"] != "ask [redacted:email]" {
		t.Errorf("name, description = %q, %q", got["name"], got["description"])
	}
	if !reflect.DeepEqual(got["labels"], []any{"10.0.0.2"}) {
		t.Errorf("labels, not configured, changed: %v", got["labels"])
	}
	want := []Redacted{
		{"name", KindInternalAddress},
		{"description", KindEmail},
		{"external_references.[0].description", KindInternalAddress},
		{"extensions." + SharingExtension + ".notes.[0]", KindInternalHost},
	}
	if !reflect.DeepEqual(recs, want) {
		t.Errorf("records = %v\nwant %v", recs, want)
	}
}

// TestApply goes from JSON to decision to the JSON that is sent.
func TestApply(t *testing.T) {
	e := loadTestEngine(t)
	raw := obj(marks(tlp2Green) + `,"created_by_ref":"` + tOpA + `",` +
		`"granular_markings":[{"marking_ref":"` + tlp2Strict + `","selectors":["description"]},{"marking_ref":"` + ClassificationMarkingID("AU", 4) + `","selectors":["labels.[1]"]}],` +
		sharing(`"sectors":["energy"],"reporter":{"ref":"`+tOpA+`","sector":"energy","size_band":"small","consent":"government"}`))
	f, err := e.Extract(raw)
	if err != nil {
		t.Fatal(err)
	}
	d := e.Decide(&f, &jpNode, testNow)
	if d.Verdict != Redact || d.Redact != 0b11 || !d.Anonymise || !d.Scrub {
		t.Fatalf("Decide = %+v, want redaction of both granular markings, anonymised, scrubbed\n%s", d, e.reason(&f, &jpNode, d, testNow))
	}
	out, recs, err := e.Apply(raw, &f, d)
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, out)
	if _, ok := got["description"]; ok {
		t.Error("description (AMBER+STRICT) sent to a partner")
	}
	if !reflect.DeepEqual(got["labels"], []any{"a"}) {
		t.Errorf("labels = %v, want [a] (labels.[1] is SECRET, the channel PROTECTED)", got["labels"])
	}
	if _, ok := got["granular_markings"]; ok {
		t.Errorf("granular_markings kept: %v", got["granular_markings"])
	}
	if got["created_by_ref"] != tAgency {
		t.Errorf("created_by_ref = %v, want our agency", got["created_by_ref"])
	}
	kinds := map[string]int{}
	for _, r := range recs {
		kinds[r.Kind]++
	}
	if kinds[KindGranular] != 2 || kinds[KindReporter] != 3 {
		t.Errorf("records = %v", recs)
	}
	// What is sent is still valid STIX.
	for _, b := range [][]byte{raw, out} {
		o, err := stix.Decode(b)
		if err == nil {
			err = stix.Validate(&o)
		}
		if err != nil {
			t.Errorf("not valid STIX: %v\n%s", err, b)
		}
	}
	// The redacted object decides as sendable as is, except for scrubbing.
	f2, err := e.Extract(out)
	if err != nil {
		t.Fatal(err)
	}
	if d2 := e.Decide(&f2, &jpNode, testNow); d2.Redact != 0 || d2.Anonymise {
		t.Errorf("after Apply, Decide = %+v", d2)
	}

	if _, _, err := e.Apply(raw, &f, Decision{Rule: RuleClearance}); !errors.Is(err, ErrDenied) {
		t.Errorf("Apply(deny) error = %v, want ErrDenied", err)
	}
	same, recs, err := e.Apply(raw, &f, Decision{Verdict: Allow, Rule: RuleAllow})
	if err != nil || string(same) != string(raw) || recs != nil {
		t.Errorf("Apply(allow) changed the object or recorded redactions")
	}
}
